"""The Python API: ``from trainlab import train, evaluate``, for notebooks and scripts.

``train("experiment=digits_dropout", "engine=keras")`` composes ``conf/train.yaml``
with the overrides exactly as ``python train.py ...`` does, checks it, and trains into
a run directory laid out as the CLI's (``.hydra/``, ``train.log``, checkpoints,
``metrics.json`` ...). It returns a ``RunResult`` and never exits the interpreter: a
mistake raises ``trainlab.errors.TrainlabError`` with the same one-line message the CLI
prints. Inside another Hydra app (a lesson script) the app's Hydra state is restored
after the run.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from trainlab.config.compose import compose, hydra_state, job_config
from trainlab.config.preflight import check_evaluation, check_job
from trainlab.engines import Metrics, load_engine
from trainlab.errors import ConfigError
from trainlab.record import FINISHED, RUN_FILE, STOPPED_EARLY, read_record
from trainlab.run import HISTORY_FILE, METRICS_FILE, evaluate_checkpoint

__all__ = ["RunResult", "compose", "evaluate", "resume", "train"]
#: What may change when a run is continued: how long it trains and how it checkpoints,
#: never what it trains.
RESUME_OVERRIDES = (
    "trainer.max_epochs",
    "callbacks.early_stopping.patience",
    "callbacks.mid_epoch_checkpoint.",
    "paths.data_dir",
    "figures",
)


@dataclass(frozen=True)
class RunResult:
    """What a finished run left: its final metrics, its directory, its epochs."""

    metrics: Metrics
    run_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def read(cls, run_dir: str | Path) -> RunResult:
        """The result as a run directory records it (``metrics.json``, ``history.csv``)."""
        run_dir = Path(run_dir)
        metrics_file, history_file = run_dir / METRICS_FILE, run_dir / HISTORY_FILE
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        history: list[dict[str, float]] = []
        if history_file.is_file():
            with history_file.open(newline="") as stream:
                history = [
                    {key: float(value) for key, value in row.items() if value}
                    for row in csv.DictReader(stream)
                ]
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        return cls(numbers, run_dir, history)


def _prepare_run(cfg: DictConfig, run_dir: str | Path | None) -> DictConfig:
    """Set ``cfg``'s run directory (Hydra's runtime output dir); the job's config."""
    directory = Path(run_dir if run_dir is not None else str(cfg.hydra.run.dir)).resolve()
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(directory)
    return job_config(cfg)


def _write_hydra_dir(cfg: DictConfig, job: DictConfig) -> None:
    """``.hydra/`` as ``hydra.main`` writes it."""
    hydra_dir = Path(str(job.paths.output_dir)) / str(cfg.hydra.output_subdir)
    hydra_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(job, hydra_dir / "config.yaml")
    if not job.get("resume"):  # a continued run keeps the command line it started with
        OmegaConf.save(OmegaConf.create({"hydra": cfg.hydra}), hydra_dir / "hydra.yaml")
        overrides = OmegaConf.create(list(cfg.hydra.overrides.task))
        OmegaConf.save(overrides, hydra_dir / "overrides.yaml")


@contextlib.contextmanager
def _run_log(cfg: DictConfig, job: DictConfig) -> Iterator[None]:
    """The run's ``<job name>.log`` (``train.log``), as the CLI writes it, during the run.

    Only this one handler is added (and removed): Hydra's ``configure_log`` would replace,
    and close, every logging handler of the calling process.
    """
    handler = logging.FileHandler(Path(str(job.paths.output_dir)) / f"{cfg.hydra.job.name}.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    handler.setLevel(logging.INFO)
    trainlab_log = logging.getLogger("trainlab")
    level = trainlab_log.level
    trainlab_log.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        trainlab_log.setLevel(level)
        handler.close()


def _config(overrides: tuple[str | DictConfig, ...], config_name: str) -> DictConfig:
    configs = [o for o in overrides if isinstance(o, DictConfig)]
    strings = [o for o in overrides if isinstance(o, str)]
    if len(configs) > 1 or (configs and strings):
        raise ConfigError("pass override strings or one config from trainlab.compose(), not both")
    if configs and "hydra" not in configs[0]:
        raise ConfigError("pass a config from trainlab.compose() (it carries Hydra's own node)")
    return configs[0].copy() if configs else compose(*strings, config_name=config_name)


def train(
    *overrides: str | DictConfig,
    run_dir: str | Path | None = None,
    callbacks: Sequence[Any] = (),
) -> RunResult:
    """Train one run: ``train("model=mlp_dropout", "trainer.max_epochs=20")``.

    Pass override strings, or one config from ``compose(...)`` (changed as you like).
    ``run_dir`` replaces the dated default directory; ``callbacks`` are extra callbacks of
    the engine's own library (see ``trainlab.engines.Engine``).
    """
    cfg = _config(overrides, "train")
    job = _prepare_run(cfg, run_dir)
    with hydra_state(cfg):
        check_job(job, str(job.paths.output_dir), "run_dir")
        _write_hydra_dir(cfg, job)
        with _run_log(cfg, job):
            metrics = load_engine(job).fit(job, callbacks)
        directory = Path(str(job.paths.output_dir))
    return RunResult(metrics, directory, RunResult.read(directory).history)


def _status(run_dir: Path) -> str | None:
    """``run.json``'s status; for a run written before ``run.json`` existed, ``finished``
    when its ``metrics.json`` is there and does not say ``interrupted``.
    """
    record = read_record(run_dir)
    if record is not None:
        return str(record.get("status"))
    metrics_file = run_dir / METRICS_FILE
    if not metrics_file.is_file():
        return None
    return "interrupted" if "interrupted" in metrics_file.read_text() else FINISHED


def _check_more_epochs(run_dir: Path, overrides: Sequence[str]) -> None:
    """A new ``trainer.max_epochs`` cannot fall below the epochs the run has done."""
    done = (read_record(run_dir) or {}).get("epochs")
    if not isinstance(done, int):
        return
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key == "trainer.max_epochs" and value.isdigit() and int(value) < done:
            raise ConfigError(
                f"trainer.max_epochs={value} is below the {done} epochs {run_dir} has done; "
                f"continue with trainer.max_epochs={done} or more"
            )


def resume(run_dir: str | Path, *overrides: str) -> RunResult:
    """Continue a stopped run in its own directory from its ``last`` checkpoint.

    The run's saved config is used as it is; ``overrides`` may only change what
    ``RESUME_OVERRIDES`` names. A run that finished is left as it is.
    """
    directory = Path(run_dir).resolve()
    saved_file = directory / ".hydra" / "config.yaml"
    if not saved_file.is_file():
        raise ConfigError(f"resume={run_dir}: not a trainlab run directory (no .hydra/config.yaml)")
    unsafe = [o for o in overrides if not o.split("=", 1)[0].lstrip("+~").startswith(RESUME_OVERRIDES)]
    if unsafe:
        allowed = ", ".join(RESUME_OVERRIDES)
        raise ConfigError(
            f"resume keeps the run's config: {unsafe[0]} cannot change (allowed: {allowed})"
        )
    status = _status(directory)
    if status in (FINISHED, STOPPED_EARLY):
        print(f"run {directory} finished already ({status}); nothing to continue (see its {RUN_FILE})")
        return RunResult.read(directory)
    _check_more_epochs(directory, overrides)
    saved = OmegaConf.load(saved_file)
    assert isinstance(saved, DictConfig)
    cfg = compose(*overrides)  # Hydra's own node; the job's keys come from the saved run
    saved_hydra = OmegaConf.load(directory / ".hydra" / "hydra.yaml")
    assert isinstance(saved_hydra, DictConfig)
    saved_hydra = saved_hydra.get("hydra", saved_hydra)  # Hydra's file has a root "hydra" key
    with open_dict(cfg):
        # The run's own group choices and command line: its name, run.json and HPARAMS.
        cfg.hydra.runtime.choices = OmegaConf.select(saved_hydra, "runtime.choices", default={})
        cfg.hydra.overrides.task = OmegaConf.select(saved_hydra, "overrides.task", default=[])
        for key in [k for k in cfg if k != "hydra"]:
            del cfg[key]
        for key, value in saved.items():
            cfg[key] = value
        for override in overrides:
            key, _, value = override.lstrip("+").partition("=")
            parsed = OmegaConf.create(f"value: {value}")  # the value as YAML, as Hydra reads it
            OmegaConf.update(cfg, key, parsed.value, force_add=True)
        cfg.resume = str(directory)
    return train(cfg, run_dir=directory)


def evaluate(ckpt_path: str | Path, *overrides: str, run_dir: str | Path | None = None) -> Metrics:
    """Recompute a run's test metrics from one of its checkpoints, as ``eval.py`` does
    (``"trainer=cpu"`` evaluates a run trained on a GPU on the CPU).
    """
    cfg = compose(f"ckpt_path={ckpt_path}", *overrides, config_name="eval")
    job = _prepare_run(cfg, run_dir)
    with hydra_state(cfg):
        check_job(job, str(job.paths.output_dir), "run_dir")
        check_evaluation(job)
        _write_hydra_dir(cfg, job)
        with _run_log(cfg, job):
            return evaluate_checkpoint(job)
