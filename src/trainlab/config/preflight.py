"""Compose and check the config before Hydra starts the job, so a bad override fails fast.

Hydra reports an unknown group option as a multi-line message with its search path;
here the same composition runs through Hydra's compose API and any error becomes one
line, before torch or Lightning is imported. In multirun each value of a choice sweep
(``model=mlp,nope``, ``optimizer.lr=0.1,-1``) is checked the same way; each job checks
its own config again. Once the values are sound, the engine's own refusals and what the
machine must provide (``environment``: a writable run directory, the devices, the data
directory) are checked too, all before Hydra creates the run directory. ``eval.py``
checks the device it will evaluate on: the run's own, or the one its command line gives.
"""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType, ValueType
from omegaconf import DictConfig, OmegaConf, open_dict

from trainlab.config.checks import check_config
from trainlab.config.compose import (
    COMPOSITION_ERRORS,
    compose,
    describe_composition_error,
    hydra_state,
    job_config,
)
from trainlab.config.engine_checks import check_engine_config
from trainlab.config.environment import check_devices, check_environment
from trainlab.config.resolvers import names_only
from trainlab.errors import CheckpointError, ConfigError, TrainlabError, exit_with
from trainlab.usage import USAGE_ERROR

_MULTIRUN_FLAGS = {"-m", "--multirun"}


def _variants(parsed: list[Override]) -> list[list[str]]:
    """Override lists to compose: the plain overrides, and once per value of each choice sweep.

    ``-m model=mlp,nope`` is then rejected before the sweep starts; glob, range and
    interval sweeps are left to the sweeper (a glob names only options that exist).
    """
    plain = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
    variants = [plain]
    for override in parsed:
        listed = override.is_choice_sweep() and override.value_type != ValueType.GLOB_CHOICE_SWEEP
        if listed and override.type == OverrideType.CHANGE:
            key = override.get_key_element()
            variants += [[*plain, f"{key}={value}"] for value in override.sweep_string_iterator()]
    return variants


def check_job(job: DictConfig, run_dir: str, run_dir_option: str) -> None:
    """Every check a job's config gets before anything heavy: its values, what its engine
    can build, and the machine (devices, data and run directories).
    """
    check_config(job)
    check_engine_config(job)
    check_environment(job, run_dir, run_dir_option)


def check_overrides(config_name: str, argv: list[str]) -> None:
    """Compose ``config_name`` with the command-line overrides and check the values."""
    multirun = any(arg in _MULTIRUN_FLAGS for arg in argv)
    if any(arg.startswith("-") and arg not in _MULTIRUN_FLAGS for arg in argv):
        return  # --help, --cfg, --config-name ...: Hydra's own business
    overrides = [arg for arg in argv if arg not in _MULTIRUN_FLAGS]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except COMPOSITION_ERRORS as error:
        raise ConfigError(describe_composition_error(error)) from None
    for variant in _variants(parsed) if multirun else [overrides]:
        cfg = compose(*variant, config_name=config_name)
        if multirun:  # as the sweep's first job sees it: ${hydra:job.num} resolves
            with open_dict(cfg):
                cfg.hydra.job.num = 0
        with hydra_state(cfg), names_only():
            run_dir_option = "hydra.sweep.dir" if multirun else "hydra.run.dir"
            job = job_config(cfg)
            if multirun:
                check_one_machine(job)
            check_job(job, str(OmegaConf.select(cfg, run_dir_option)), run_dir_option)
            if config_name == "eval":
                check_evaluation(job)


def check_evaluation(job: DictConfig) -> None:
    """``eval.py`` runs on the run's device or the one it is given: it must exist here."""
    from trainlab.run import load_run_config

    try:
        run_cfg = load_run_config(job)
    except CheckpointError:
        return  # a missing or foreign checkpoint: the job says so itself
    check_devices(run_cfg)


def check_one_machine(job: DictConfig) -> None:
    """A multirun's jobs train on this machine: the other machines of a ``num_nodes`` job
    join one job per command (``python -m trainlab.engines.lightning.ranks``).
    """
    nodes = OmegaConf.select(job, "trainer.num_nodes", default=1)
    if isinstance(nodes, int) and nodes > 1:
        raise ConfigError(
            f"trainer.num_nodes={nodes} trains one job per command: run each job without -m"
        )


def preflight(config_name: str, argv: list[str]) -> None:
    """Exit with one line on stderr if the command line cannot compose a valid config."""
    try:
        check_overrides(config_name, argv)
    except TrainlabError as error:
        exit_with(error, USAGE_ERROR)
