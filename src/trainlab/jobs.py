"""The Hydra apps behind ``train.py`` and ``eval.py``, and how their process ends.

``run_app`` runs the pre-flight (compose and check the command line, one line and exit 2
on a mistake, before torch is imported), then ``hydra.main`` (the run directory,
``.hydra/``, logging; multirun hands each job to the sweeper and launcher) with
``train_job`` or ``eval_job``. Only Hydra and OmegaConf are imported here; the engine
imports its library.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from trainlab.config import CONFIG_DIR, check_config
from trainlab.config.preflight import preflight
from trainlab.engines import Metrics, load_engine
from trainlab.errors import ConfigError, TrainlabError, exit_with
from trainlab.run import evaluate_checkpoint
from trainlab.sweep.launchers import stop_workers
from trainlab.usage import USAGE_ERROR


def one_line_errors(job: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """In a single run, report a ``TrainlabError`` as one stderr line and exit 1.

    In multirun the error propagates, so the sweeper records the job as failed and
    carries on (Hydra prints it compactly as well).
    """

    @functools.wraps(job)
    def run(cfg: DictConfig) -> Any:
        try:
            return job(cfg)
        except TrainlabError as error:
            if HydraConfig.get().mode == RunMode.MULTIRUN:
                raise
            exit_with(error)

    return run


@one_line_errors
def train_job(cfg: DictConfig) -> Metrics:
    """Hydra task: check ``cfg`` and train with its engine; the final metrics (for sweeps)."""
    check_config(cfg)
    return load_engine(cfg).fit(cfg)


@one_line_errors
def eval_job(cfg: DictConfig) -> Metrics:
    """Hydra task: recompute a run's test metrics from one of its checkpoints."""
    return evaluate_checkpoint(cfg)


def exit_now(code: object) -> None:
    """Exit without the interpreter's teardown, once every output is flushed.

    Freeing the module graph of torch and Lightning at exit takes about a second, after
    the run's files are all written: time a user waits for nothing.
    """
    if isinstance(code, str):  # sys.exit("message"): Python would print it
        print(code, file=sys.stderr)
        code = 1
    if stop_workers():  # joblib's launcher ran jobs: its exit handlers clean up after it
        raise SystemExit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


def run_app(config_name: str, argv: list[str]) -> None:
    """``train.py`` (``config_name="train"``) or ``eval.py``: pre-flight, then Hydra's app."""
    preflight(config_name, argv)
    task = train_job if config_name == "train" else eval_job
    try:
        hydra.main(config_path=str(CONFIG_DIR), config_name=config_name, version_base="1.3")(task)()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


def _resume(argv: list[str]) -> None:
    from trainlab.api import resume

    run_dir = next(arg for arg in argv if arg.startswith("resume="))
    others = [arg for arg in argv if arg != run_dir]
    try:
        resume(run_dir.partition("=")[2], *others)
    except ConfigError as error:
        exit_with(error, USAGE_ERROR)
    except TrainlabError as error:
        exit_with(error)


def resume_app(argv: list[str]) -> None:
    """``train.py resume=<run dir> [safe overrides]``: the run's own config, not a new one."""
    try:
        _resume(argv)
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)
