"""Config handling that runs before any heavy import: checks and the pre-flight."""

from trainlab.config.checks import check_config

__all__ = ["check_config"]
