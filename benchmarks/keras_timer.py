"""Keras callbacks that time each epoch of a real ``model.fit``."""

from __future__ import annotations

from typing import Any

from benchmarks.clock import EpochClock
from trainlab.keras_backend import keras


class KerasEpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
    """From ``on_epoch_begin`` to ``on_epoch_end``, which Keras calls after the epoch's
    validation, behind the callbacks listed before this one."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = EpochClock()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.clock.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.clock.stop()


class InlineBatchEndTimer(KerasEpochTimer):
    """The same with a no-op batch-end hook, as the engine's checkpoint callback has one.

    Keras calls batch ends in line when any callback defines that hook, and hands each to
    a thread pool when none does (about 0.15 ms a step where it was measured): this keeps
    a fit without the engine's callbacks comparable with one that has them.
    """

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        pass
