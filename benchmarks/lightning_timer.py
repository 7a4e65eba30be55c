"""A Lightning callback that times each epoch of a real ``Trainer.fit``."""

from __future__ import annotations

import lightning.pytorch as pl

from benchmarks.clock import EpochClock, synchronize


class LightningEpochTimer(pl.Callback):
    """From an epoch's start to its ``on_train_epoch_end``, which Lightning calls after the
    epoch's validation: training, validation, callbacks, logging and checkpoints.

    Appended after the configured callbacks, so theirs run inside the timed span.
    """

    def __init__(self) -> None:
        self.clock = EpochClock()

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        synchronize(module.device)
        self.clock.start()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        synchronize(module.device)
        self.clock.stop()
