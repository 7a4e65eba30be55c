"""What both engines do around training: seed, build the data, report the results."""

from __future__ import annotations

import csv
import gc
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from trainlab.baselines import PREFIX as BASELINE_PREFIX
from trainlab.baselines import baseline_metrics
from trainlab.data.base import TensorDataModule
from trainlab.run import format_metrics, hparams_of, to_floats, write_metrics

if TYPE_CHECKING:
    from trainlab.figures import TestOutputs

log = logging.getLogger("trainlab")


LIBRARY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "torchmetrics")


def freeze_startup_objects() -> None:
    """Exempt every object alive now from Python's cyclic garbage collector.

    After torch and Lightning are imported, some 400,000 long-lived objects exist; each
    full collection walks them all (0.2 s on these machines) and finds nothing to free.
    Frozen, the collector only looks at what the run itself allocates.
    """
    gc.freeze()


def route_library_logs() -> None:
    """Send library messages and warnings through Hydra's handlers (stdout and the run log).

    Lightning and torchmetrics attach their own stderr handlers; without this their
    INFO lines and warnings would bury a run's one-line error on stderr.
    """
    for name in LIBRARY_LOGGERS:
        library_log = logging.getLogger(name)
        for handler in list(library_log.handlers):
            library_log.removeHandler(handler)
        library_log.propagate = True
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")


def build_datamodule(cfg: DictConfig) -> TensorDataModule:
    """The configured DataModule with its data loaded (so its ``spec`` is known)."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def config_choices() -> dict[str, Any]:
    """The chosen option of each config group (data=digits, model=mlp ...)."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {k: v for k, v in choices.items() if not k.startswith("hydra") and k != "paths"}


class EpochHistory:
    """Every epoch's metrics (``train/loss``, ``val/acc`` ...), for learning curves."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def __call__(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append({"epoch": epoch, **metrics})

    def last(self) -> dict[str, float]:
        """The latest epoch's metrics (empty before the first epoch ends)."""
        return {k: v for k, v in self.epochs[-1].items() if k != "epoch"} if self.epochs else {}

    def write_csv(self, path: Path) -> Path:
        """One row per epoch (epoch counted from 1), one column per metric."""
        columns = sorted({k for epoch in self.epochs for k in epoch} - {"epoch"})
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["epoch", *columns])
            for epoch in self.epochs:
                writer.writerow([int(epoch["epoch"]) + 1, *(epoch.get(c, "") for c in columns)])
        return path


def epoch_end_hooks(cfg: DictConfig) -> list[Callable[[int, dict[str, float]], None]]:
    """What runs after each epoch's validation, on both engines.

    A sweep's pruner is added here when the job belongs to an Optuna trial
    (``cfg.trial``); it may raise ``optuna.TrialPruned`` to stop the run.
    """
    hooks: list[Callable[[int, dict[str, float]], None]] = []
    if cfg.get("trial"):
        from trainlab.sweep.pruning import trial_reporter

        hooks.append(trial_reporter(cfg))
    return hooks


def call_all(
    hooks: list[Callable[[int, dict[str, float]], None]],
) -> Callable[[int, dict[str, float]], None]:
    def call(epoch: int, metrics: dict[str, float]) -> None:
        for hook in hooks:
            hook(epoch, metrics)

    return call


def run_hparams(cfg: DictConfig) -> dict[str, Any]:
    return hparams_of(cfg, config_choices())


HISTORY_FILE = "history.csv"


def finish_run(
    cfg: DictConfig,
    datamodule: TensorDataModule,
    metrics: dict[str, Any],
    history: EpochHistory,
    test_outputs: Callable[[], TestOutputs],
    writer: Any | None = None,
    step: int = 0,
) -> dict[str, float]:
    """What every finished run leaves, on either engine: the baseline's scores beside the
    network's, ``metrics.json``, ``history.csv`` and the figures (unless ``figures=false``).
    """
    metrics = {**metrics, **baseline_metrics(cfg.get("baseline"), datamodule.splits, datamodule.spec)}
    if writer is not None:
        for name, value in metrics.items():
            if name.startswith(BASELINE_PREFIX):
                writer.add_scalar(name, value, step)
    history.write_csv(Path(cfg.paths.output_dir) / HISTORY_FILE)
    if cfg.get("figures", True):
        started = time.perf_counter()
        from trainlab.figures import draw_run_figures
        from trainlab.figures.run import FIGURES_DIR

        paths = draw_run_figures(
            Path(cfg.paths.output_dir) / FIGURES_DIR,
            datamodule.spec,
            history.epochs,
            test_outputs(),
            writer,
            step,
        )
        log.info("drew %d figures in %.2f s", len(paths), time.perf_counter() - started)
    return report(cfg, metrics)


def report(cfg: DictConfig, metrics: dict[str, Any]) -> dict[str, float]:
    """Write ``metrics.json`` into the run directory and print the final metrics."""
    floats = to_floats(metrics)
    path = write_metrics(cfg.paths.output_dir, floats)
    log.info("%s", format_metrics(floats))
    print(f"metrics: {format_metrics(floats)}\nrun directory: {Path(path).parent}")
    return floats


def predictions_for(cfg: DictConfig) -> list[list[float]] | None:
    """The raw inputs a lesson asks predictions for (``predict: [[5], [-9]]``), if any."""
    inputs = cfg.get("predict")
    if not inputs:
        return None
    rows = OmegaConf.to_container(inputs, resolve=True) if OmegaConf.is_config(inputs) else inputs
    return [[float(v) for v in (row if isinstance(row, list) else [row])] for row in rows]
