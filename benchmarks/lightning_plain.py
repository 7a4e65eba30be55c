"""Plain Lightning: a minimal ``LightningModule`` and ``Trainer``, the Lightning engine's base row.

What the Lightning docs teach, on the run's own network, loss and optimizer: automatic
optimization; ``TensorDataset`` + ``DataLoader`` (training batches of ``batch_size``,
shuffled; validation in the run's evaluation batches, as every other row, so the two
differ by the engine and not by the batch count); the training loss and the validation
loss and metrics logged per epoch with ``self.log``; a Trainer with no logger, no
checkpoints, no progress bar and no model summary. Its ``DataLoader`` fetches and
collates sample by sample, as plain code does: the engine's indexed batches save that.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from lightning.fabric.utilities.warnings import PossibleUserWarning
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics import Metric

from benchmarks.engine_epoch import ENGINE_EPOCHS
from benchmarks.lightning_timer import LightningEpochTimer
from benchmarks.loops import device_of
from trainlab.data.base import Batch, TensorDataModule
from trainlab.tasks import Task, make_task


class PlainModule(pl.LightningModule):
    """The network, the task's loss and metrics, the configured optimizer; nothing else."""

    def __init__(self, network: nn.Module, task: Task, optimizer: Any) -> None:
        super().__init__()
        self.network, self.task, self.optimizer_factory = network, task, optimizer
        self.val_metrics = nn.ModuleDict(task.metrics())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.network(x)
        return output

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.task.loss(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        x, y = batch
        output = self(x)
        self.log("val/loss", self.task.loss(output, y), on_epoch=True)
        for name, metric in self.val_metrics.items():
            assert isinstance(metric, Metric)
            metric(self.task.metric_inputs(output), y)
            self.log(f"val/{name}", metric, on_epoch=True)

    def configure_optimizers(self) -> Any:
        return self.optimizer_factory(self.parameters())


def plain_loaders(datamodule: TensorDataModule) -> tuple[DataLoader[Any], DataLoader[Any]]:
    """Training and validation ``DataLoader``s over ``TensorDataset``s of the loaded splits."""
    splits = datamodule.splits
    assert splits is not None
    train = DataLoader(TensorDataset(*splits.train), batch_size=datamodule.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(*splits.val), batch_size=datamodule.eval_batch_size)
    return train, val


@contextlib.contextmanager
def without_advice() -> Iterator[None]:
    """Lightning's hardware lines and its advice about workers and logging intervals, kept
    off the benchmark's output (they cost nothing inside the timed epochs)."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=PossibleUserWarning)
            yield
    finally:
        logger.setLevel(level)


def plain_fit(
    cfg: DictConfig, datamodule: TensorDataModule, epochs: int, callbacks: Sequence[pl.Callback] = ()
) -> None:
    """``Trainer.fit`` of a fresh ``PlainModule`` for ``epochs`` on the device the engine picks."""
    torch.manual_seed(int(cfg.seed))
    network: nn.Module = instantiate(cfg.model).build_torch(datamodule.spec)
    module = PlainModule(network, make_task(datamodule.spec), instantiate(cfg.optimizer))
    train, val = plain_loaders(datamodule)
    with without_advice():
        trainer = pl.Trainer(
            accelerator=device_of(cfg).type,
            devices=1,
            max_epochs=epochs,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=list(callbacks),
        )
        trainer.fit(module, train, val)


def lightning_plain_epoch(cfg: DictConfig, datamodule: TensorDataModule) -> float:
    """Seconds of the last epoch of a plain fit of ``ENGINE_EPOCHS``, timed as the engine rows are."""
    timer = LightningEpochTimer()
    plain_fit(cfg, datamodule, ENGINE_EPOCHS, [timer])
    return timer.clock.seconds[-1]
