"""Config handling that runs before any heavy import: where the configs are, their checks."""

from trainlab.config import resolvers
from trainlab.config.checks import check_config
from trainlab.usage import CONFIG_DIR

resolvers.register()  # before any config is composed

__all__ = ["CONFIG_DIR", "check_config"]
