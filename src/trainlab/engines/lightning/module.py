"""One LightningModule for every task: the network, the task's loss and torchmetrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from trainlab.errors import NonFiniteLossError
from trainlab.tasks import Task

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]
EpochEndHook = Callable[[int, dict[str, float]], None]
# Steps whose outputs wait for one metric update: enough to make the update's Python
# cost negligible per step, few enough that the waiting outputs stay small.
METRIC_UPDATE_EVERY = 32


def _log_name(stage: str) -> str:
    """Lightning's stage "fit" is logged as "train" (``nn.ModuleDict`` cannot hold "train")."""
    return "train" if stage == "fit" else stage


class StepRecords:
    """The detached loss, sample count, metric inputs and targets of steps not yet in the metrics."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.counts: list[int] = []
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, loss: torch.Tensor, count: int, output: torch.Tensor, target: torch.Tensor) -> None:
        self.losses.append(loss)
        self.counts.append(count)
        self.outputs.append(output)
        self.targets.append(target)

    def take(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The kept steps as batched tensors (losses, weights, outputs, targets); then empty."""
        losses = torch.stack(self.losses)
        weights = torch.tensor(self.counts, dtype=losses.dtype).to(losses.device, non_blocking=True)
        batched = losses, weights, torch.cat(self.outputs), torch.cat(self.targets)
        self.clear()
        return batched


class TrainModule(pl.LightningModule):
    """Logs ``{train,val,test}/loss`` and the task's metrics once per epoch.

    The optimization step is written out in ``training_step`` (Lightning's manual
    optimization): zero the gradients, backward through Lightning (so mixed precision
    and DDP work as usual), clip, step. Lightning's automatic loop wraps each step in a
    closure and hooks trainlab does not use, about 0.1 ms a step: a tenth of a small
    MLP's step on CPU. Gradient clipping therefore comes in here (the Trainer refuses it
    with manual optimization) and the LR scheduler steps once per epoch, as it would have.

    Losses and metrics accumulate on the device; nothing syncs with the host per step.
    Each step only keeps its detached loss, outputs and targets; the metrics take them
    in one update every ``METRIC_UPDATE_EVERY`` steps and at the epoch's end, because a
    torchmetrics update costs more Python than a small MLP's step. A non-finite loss is
    flagged on-device at those updates and checked once before each validation, so the
    run stops before a NaN model can overwrite a checkpoint.
    """

    def __init__(
        self,
        network: nn.Module,
        task: Task,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        on_epoch_end: EpochEndHook | None = None,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.network, self.task = network, task
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.on_epoch_end = on_epoch_end
        self.gradient_clip_val, self.gradient_clip_algorithm = gradient_clip_val, gradient_clip_algorithm
        self.stage_metrics = nn.ModuleDict(
            {
                stage: MetricCollection(
                    {"loss": MeanMetric(), **task.metrics()}, prefix=f"{_log_name(stage)}/"
                )
                for stage in ("fit", "val", "test")
            }
        )
        self._pending = {stage: StepRecords() for stage in ("fit", "val", "test")}
        self._val_epoch_metrics: dict[str, torch.Tensor] = {}
        self.register_buffer("nonfinite_loss", torch.zeros((), dtype=torch.bool), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        output = self(x)
        loss = self.task.loss(output, y)
        pending = self._pending[stage]
        pending.add(loss.detach(), len(x), self.task.metric_inputs(output.detach()), y)
        if len(pending) >= METRIC_UPDATE_EVERY:
            self._update_metrics(stage)
        return loss

    def _update_metrics(self, stage: str) -> None:
        """Feed the kept steps to the stage's metrics in one update (no host sync)."""
        pending = self._pending[stage]
        if not len(pending):
            return
        losses, weights, outputs, targets = pending.take()
        metrics = self.stage_metrics[stage]
        metrics["loss"].update(losses, weight=weights)
        for name, metric in metrics.items(keep_base=True):
            if name != "loss":
                metric.update(outputs, targets)
        if stage == "fit":
            self.nonfinite_loss |= ~torch.isfinite(losses).all()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """One optimization step; the loss reaches the logs through the epoch's metrics."""
        optimizer = self.optimizers()
        loss = self._step(batch, "fit")
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.gradient_clip_val:
            self.clip_gradients(optimizer, self.gradient_clip_val, self.gradient_clip_algorithm)
        optimizer.step()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _log_epoch_metrics(self, stage: str) -> dict[str, torch.Tensor]:
        self._update_metrics(stage)
        metrics = self.stage_metrics[stage]
        computed = metrics.compute()
        self.log_dict(computed, on_step=False, on_epoch=True)
        metrics.reset()
        return computed

    def _raise_if_nonfinite(self) -> None:
        self._update_metrics("fit")
        if bool(self.nonfinite_loss):
            directory = getattr(self.trainer.checkpoint_callback, "dirpath", None)
            saved = sorted(Path(directory).glob("*.ckpt")) if directory else []
            kept = f"; kept {', '.join(str(p) for p in saved)}" if saved else ""
            raise NonFiniteLossError(
                f"the training loss became NaN/inf in epoch {self.current_epoch + 1}; "
                f"the run stopped (lower optimizer.lr or scale the data){kept}"
            )

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self._raise_if_nonfinite()

    def on_train_epoch_end(self) -> None:
        self._raise_if_nonfinite()
        train = self._log_epoch_metrics("fit")
        if self.on_epoch_end is not None:  # one host sync per epoch
            epoch_metrics = {**train, **self._val_epoch_metrics}
            self.on_epoch_end(self.current_epoch, {k: float(v) for k, v in epoch_metrics.items()})
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()

    def on_validation_epoch_end(self) -> None:
        computed = self._log_epoch_metrics("val")
        if not self.trainer.sanity_checking:
            self._val_epoch_metrics = computed

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
