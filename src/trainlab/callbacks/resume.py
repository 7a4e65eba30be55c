"""Lightning callbacks that make a run continuable: ``best.ckpt``, ``last.ckpt``, clean stops.

``MidEpochCheckpoint`` rewrites ``<run>/checkpoints/last.ckpt`` every N optimizer steps
or T seconds, within epochs and across them, and when training ends: a run killed in
the middle of a long epoch loses minutes, not the epoch, and a run of thousands of
millisecond epochs does not spend most of its time writing checkpoints. ``BestCheckpoint``
is Lightning's ``ModelCheckpoint`` with the same care for runs without a monitor.
``StopOnSignal`` ends a run that received SIGINT/SIGTERM after the step in flight, with
``last.ckpt`` written first. ``RunState`` carries what else an exact
continuation needs through the checkpoint: the per-epoch history and the RNG states
(dropout draws from torch's global generator).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn

from trainlab.engines.interrupts import StopSignals
from trainlab.loggers import EpochTensorBoardLogger


def last_checkpoint(trainer: pl.Trainer) -> Path | None:
    """``<dirpath>/last.ckpt`` of the run's ``ModelCheckpoint`` (None without one)."""
    callback = trainer.checkpoint_callback
    if not isinstance(callback, ModelCheckpoint) or callback.dirpath is None:
        return None
    return Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}{callback.FILE_EXTENSION}"


def save_last(trainer: pl.Trainer) -> None:
    path = last_checkpoint(trainer)
    if path is not None:
        trainer.save_checkpoint(path)


class AfterStep(pl.Callback):
    """Something to do between ``training_step`` calls, checked as the next call starts.

    Not in ``on_train_batch_end``: after an epoch's last call, validation and the epoch's
    end are still to come, and a checkpoint written there would continue without them.
    As the next call starts, the state is the same as after the previous one, and at an
    epoch's first call the previous epoch is complete.
    """

    def after_step(self, trainer: pl.Trainer) -> None:
        raise NotImplementedError

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, index: int
    ) -> None:
        if trainer.global_step > 0:
            self.after_step(trainer)


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint``; without a ``monitor`` (and ``save_last`` off) the
    best model is the final one, so it is written once, when training ends, instead of
    after every epoch. A run stopped by a signal or an error writes no best checkpoint:
    ``last.ckpt`` continues it.
    """

    def _final_only(self) -> bool:
        return self.monitor is None and not self.save_last

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._final_only():
            super().on_train_epoch_end(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._final_only():
            super().on_validation_end(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._final_only() and not getattr(trainer, "fast_dev_run", False):
            path = self.format_checkpoint_name({})
            self.best_model_path = path  # before saving: the path is part of the saved state
            trainer.save_checkpoint(path, weights_only=self.save_weights_only)
        super().on_train_end(trainer, pl_module)


class MidEpochCheckpoint(AfterStep):
    """``last.ckpt`` every ``every_n_steps`` steps or ``every_seconds`` seconds (checked
    after each step, so within epochs and across them), and when training ends.
    """

    def __init__(self, every_n_steps: int | None = None, every_seconds: float | None = 60.0) -> None:
        self.every_n_steps, self.every_seconds = every_n_steps, every_seconds
        self._last_save = (time.monotonic(), 0)  # (clock, global step) of the last save

    def after_step(self, trainer: pl.Trainer) -> None:
        """Checked after each ``training_step`` call: with ``engine.steps_per_call`` > 1, at
        the first call that reaches the steps or the seconds.
        """
        clock, step = self._last_save
        steps = self.every_n_steps
        by_steps = bool(steps) and trainer.global_step - step >= int(steps or 1)
        by_time = self.every_seconds is not None and time.monotonic() - clock >= self.every_seconds
        if by_steps or by_time:
            save_last(trainer)
            self._last_save = (time.monotonic(), trainer.global_step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The final state: ``resume=<run> trainer.max_epochs=<more>`` continues from it."""
        if not getattr(trainer, "fast_dev_run", False):
            save_last(trainer)


class StopOnSignal(AfterStep):
    """Raises ``RunInterrupted`` after the first step that ends once a signal arrived."""

    def __init__(self, signals: StopSignals) -> None:
        self.signals = signals

    def after_step(self, trainer: pl.Trainer) -> None:
        if self.signals.received is not None:
            save_last(trainer)
            where = f"in epoch {trainer.current_epoch + 1} after step {trainer.global_step}"
            raise self.signals.interruption(where)


class RunState(pl.Callback):
    """The epoch history and the RNG states, saved in every checkpoint and restored when a
    fit continues from one (not when the best checkpoint is validated or tested).
    """

    KEY = "trainlab_run_state"

    def __init__(self, epochs: list[dict[str, float]]) -> None:
        self.epochs = epochs

    def on_save_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        for logger in trainer.loggers:  # the event file holds every epoch this file records
            if isinstance(logger, EpochTensorBoardLogger):
                logger.write_waiting()
        state: dict[str, Any] = {"epochs": list(self.epochs), "torch_rng": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        checkpoint[self.KEY] = state

    def on_load_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get(self.KEY)
        if state is None or trainer.state.fn != TrainerFn.FITTING:
            return
        self.epochs[:] = state["epochs"]
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
