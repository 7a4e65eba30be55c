"""Small Keras callbacks that give a Keras run what a Lightning run has.

TensorBoard scalars under the same tags (Keras' own ``TensorBoard`` callback needs
TensorFlow, so events go through torch's ``SummaryWriter``), the per-epoch hooks
(history, sweep pruning), the NaN guard, and the torch LR schedulers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from trainlab.engines.keras.config import CHECKPOINT_SUFFIX, tags
from trainlab.engines.runtime import EpochHook
from trainlab.epoch_scalars import WaitingScalars
from trainlab.errors import NonFiniteLossError
from trainlab.keras_backend import keras


class EpochHooks(keras.callbacks.Callback):
    """Calls ``hook(epoch, {"train/loss": ..., "val/acc": ...})`` after each epoch."""

    def __init__(self, hook: EpochHook, metric_names: Sequence[str]) -> None:
        super().__init__()
        self.hook, self.metric_names = hook, list(metric_names)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.hook(epoch, tags(logs or {}, self.metric_names))


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops the run with an error when an epoch's training loss is NaN/inf.

    Put it before the checkpoint callback: it raises before a NaN model can be saved.
    """

    def __init__(self, checkpoint_dir: Path | None) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        raise NonFiniteLossError.in_epoch(epoch + 1, self.checkpoint_dir, CHECKPOINT_SUFFIX)


class TensorBoardScalars(keras.callbacks.Callback):
    """Per-epoch scalars in a ``SummaryWriter``, stepped by epoch (from 1) as Lightning's.

    They reach the event file at most every ``flush_seconds`` and when training ends, as
    the Lightning engine's logger's do (``trainlab.epoch_scalars``).
    """

    def __init__(self, writer: Any, metric_names: Sequence[str], flush_seconds: float = 2.0) -> None:
        super().__init__()
        self.writer, self.metric_names = writer, list(metric_names)
        self.scalars = WaitingScalars(self._write, writer.flush, flush_seconds)

    def _write(self, scalars: Mapping[str, Any], step: int | None) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # The rate this epoch trained with; one tag whatever the optimizer.
        rate = float(self.model.optimizer.learning_rate)
        self.scalars.add({**tags(logs or {}, self.metric_names), "train/lr": rate}, epoch + 1)
        self.scalars.write_if_due()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.scalars.write_all()


class TorchLRSchedule(keras.callbacks.Callback):
    """Drives the Keras optimizer's learning rate with a ``torch.optim.lr_scheduler``.

    The configured torch scheduler steps a stand-in torch optimizer once per epoch
    (as the Lightning engine does) and its learning rate is copied into Keras, so
    ``scheduler=cosine`` gives the same schedule on both engines.
    """

    def __init__(
        self,
        scheduler_factory: Callable[[torch.optim.Optimizer], Any],
        base_lr: float,
        start_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.scheduler_factory, self.base_lr, self.start_epoch = scheduler_factory, base_lr, start_epoch
        self.scheduler: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        stand_in = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=self.base_lr)
        self.scheduler = self.scheduler_factory(stand_in)
        for _ in range(self.start_epoch):  # a continued run picks the schedule up where it was
            self.scheduler.step()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.model.optimizer.learning_rate = self.scheduler.optimizer.param_groups[0]["lr"]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.scheduler.step()


class LoggerMetrics(keras.callbacks.Callback):
    """Per-epoch metrics into a Lightning logger object (``logger=csv``: ``metrics.csv``)."""

    def __init__(self, logger: Any, metric_names: Sequence[str]) -> None:
        super().__init__()
        self.logger, self.metric_names = logger, list(metric_names)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        step = max(int(self.model.optimizer.iterations) - 1, 0)
        self.logger.log_metrics({**tags(logs or {}, self.metric_names), "epoch": epoch}, step)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.logger.save()
