"""What both engines do before and during training: quiet libraries, load data, track epochs."""

from __future__ import annotations

import csv
import gc
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from trainlab.console import install_console_filter
from trainlab.data.base import TensorDataModule
from trainlab.run import write_atomically

log = logging.getLogger("trainlab")

LIBRARY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "torchmetrics")
#: Called after each epoch's validation with the epoch (from 0) and its metrics by tag.
EpochHook = Callable[[int, dict[str, float]], None]


def prepare_process() -> None:
    """Route library logs and exempt startup objects from the garbage collector.

    Lightning and torchmetrics attach their own stderr handlers; without rerouting,
    their INFO lines and warnings would bury a run's one-line error on stderr. Of their
    INFO lines, those that say nothing about the run (the hardware, adverts, reloading
    the best checkpoint) reach only the log file (``console.install_console_filter``).
    After torch and Lightning are imported some 400,000 long-lived objects exist; each
    full collection would walk them all (about 0.2 s) and find nothing to free.
    """
    for name in LIBRARY_LOGGERS:
        library_log = logging.getLogger(name)
        for handler in list(library_log.handlers):
            library_log.removeHandler(handler)
        library_log.propagate = True
    install_console_filter()
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    # Under DDP: the epoch metrics come from torchmetrics, which syncs them across ranks.
    warnings.filterwarnings("ignore", message=".*when logging on epoch level in distributed.*")
    gc.freeze()


def build_datamodule(cfg: DictConfig) -> TensorDataModule:
    """The configured DataModule with its data loaded (so its ``spec`` is known)."""
    from trainlab.config.runtime_checks import check_data_fits

    datamodule: TensorDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    check_data_fits(cfg, datamodule.spec)  # monitors and predictions, for any DataModule
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

        def write(target: Path) -> None:
            with target.open("w", newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(["epoch", *columns])
                for epoch in self.epochs:
                    writer.writerow([int(epoch["epoch"]) + 1, *(epoch.get(c, "") for c in columns)])

        return write_atomically(path, write)


def epoch_end_hook(cfg: DictConfig, history: EpochHistory) -> EpochHook:
    """What runs after each epoch's validation, on both engines: the history, and a
    sweep's pruner when the job belongs to an Optuna trial (``cfg.trial``), which may
    raise ``optuna.TrialPruned`` to stop the run.
    """
    hooks: list[EpochHook] = [history]
    if cfg.get("trial"):
        from trainlab.sweep.pruning import trial_reporter

        hooks.append(trial_reporter(cfg))

    def call(epoch: int, metrics: dict[str, float]) -> None:
        for hook in hooks:
            hook(epoch, metrics)

    return call
