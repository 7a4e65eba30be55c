"""Config handling that runs before any heavy import: where the configs are, their checks."""

from pathlib import Path

from trainlab.config import resolvers
from trainlab.config.checks import check_config


def _find_config_dir() -> Path:
    """The repository's ``conf/`` in a checkout, else the copy packaged in the wheel."""
    package = Path(__file__).resolve().parents[1]
    checkout = package.parents[1] / "conf"
    return checkout if checkout.is_dir() else package / "conf"


CONFIG_DIR = _find_config_dir()
resolvers.register()  # before any config is composed

__all__ = ["CONFIG_DIR", "check_config"]
