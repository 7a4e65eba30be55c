"""Compose and check the config before Hydra starts the job, so a bad override fails fast.

Hydra reports an unknown group option as a multi-line message with its search path;
here the same composition runs through Hydra's compose API and any error becomes one
line, before torch or Lightning is imported. In multirun each value of a choice sweep
(``model=mlp,nope``, ``optimizer.lr=0.1,-1``) is checked the same way; each job checks
its own config again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType, ValueType
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from trainlab.config.checks import check_config
from trainlab.errors import TrainlabError

_MULTIRUN_FLAGS = {"-m", "--multirun"}


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


def _variants(parsed: list[Override]) -> list[list[str]]:
    """Override lists to compose: the plain overrides, and once per value of each choice sweep.

    ``-m model=mlp,nope`` is then rejected before the sweep starts; glob, range and
    interval sweeps are left to the sweeper (a glob names only options that exist).
    """
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    variants = [plain]
    for override in parsed:
        listed = override.is_choice_sweep() and override.value_type != ValueType.GLOB_CHOICE_SWEEP
        if listed and override.type == OverrideType.CHANGE:
            key = override.get_key_element()
            variants += [[*plain, f"{key}={value}"] for value in override.sweep_string_iterator()]
    return variants


def check_overrides(config_dir: Path, config_name: str, argv: list[str]) -> None:
    """Compose ``config_name`` with the command-line overrides and check the values."""
    multirun = any(arg in _MULTIRUN_FLAGS for arg in argv)
    if any(arg.startswith("-") and arg not in _MULTIRUN_FLAGS for arg in argv):
        return  # --help, --cfg, --config-name ...: Hydra's own business
    overrides = [arg for arg in argv if arg not in _MULTIRUN_FLAGS]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        variants = _variants(parsed) if multirun else [overrides]
        with initialize_config_dir(str(config_dir), version_base="1.3"):
            configs = [compose(config_name, overrides=variant) for variant in variants]
    except (ConfigCompositionException, OverrideParseException, OmegaConfBaseException) as error:
        raise TrainlabError(describe_composition_error(error)) from None
    for cfg in configs:
        check_config(cfg)


def preflight(config_dir: Path, config_name: str, argv: list[str]) -> None:
    """Exit with one line on stderr if the command line cannot compose a valid config."""
    try:
        check_overrides(config_dir, config_name, argv)
    except TrainlabError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
