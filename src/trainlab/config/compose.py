"""Composing ``conf/`` as ``python train.py`` would, outside ``hydra.main``.

The pre-flight check and the Python API both need the exact config a command line
gives, with Hydra's own node so that ``${hydra:...}`` interpolations resolve. Hydra
keeps one global config loader and one ``HydraConfig``; ``hydra_state`` gives a
composition or a run its own and restores the caller's afterwards, so a lesson script
that is itself a Hydra app can start runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from trainlab.config import CONFIG_DIR
from trainlab.errors import ConfigError

COMPOSITION_ERRORS = (ConfigCompositionException, OverrideParseException, OmegaConfBaseException)


def _first_line(error: BaseException) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), repr(error))


def describe_composition_error(error: BaseException) -> str:
    """One line for an error raised while Hydra composes the config."""
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        if error.options:
            available = ", ".join(sorted(error.options))
            return f"unknown option {group}={option}; available: {available}"
        return f"config '{error.missing_cfg_file}' not found"
    message = _first_line(error)
    if isinstance(error.__cause__, OmegaConfBaseException):
        message = f"{message} ({_first_line(error.__cause__)})"
    return message


@contextlib.contextmanager
def hydra_state(cfg: DictConfig | None = None) -> Iterator[None]:
    """Hydra's global state for one composition or run (``cfg`` as its ``HydraConfig``)."""
    global_hydra = GlobalHydra.instance()
    outer_hydra = global_hydra.hydra if global_hydra.is_initialized() else None
    outer_config = HydraConfig.instance().cfg
    global_hydra.clear()
    if cfg is not None:
        HydraConfig.instance().set_config(cfg)
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        if outer_hydra is not None:
            GlobalHydra.instance().initialize(outer_hydra)
        HydraConfig.instance().cfg = outer_config


def compose(*overrides: str, config_name: str = "train") -> DictConfig:
    """The config ``python train.py <overrides>`` would run, with its ``hydra`` node.

    Raises ``ConfigError`` (one line) for an unknown option or a malformed override.
    """
    try:
        with hydra_state(), initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            return hydra_compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except COMPOSITION_ERRORS as error:
        raise ConfigError(describe_composition_error(error)) from None


def job_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` without its ``hydra`` node: what the job sees (and ``.hydra/config.yaml`` holds)."""
    job = OmegaConf.masked_copy(cfg, [str(key) for key in cfg if key != "hydra"])
    assert isinstance(job, DictConfig)
    return job
