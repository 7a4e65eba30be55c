"""Lightning callbacks that make a run continuable: mid-epoch ``last.ckpt``, clean stops.

``MidEpochCheckpoint`` rewrites ``<run>/checkpoints/last.ckpt`` every N optimizer steps
or T seconds, so a run killed in the middle of a long epoch loses minutes, not the
epoch. ``StopOnSignal`` ends a run that received SIGINT/SIGTERM after the step in
flight, with ``last.ckpt`` written first. ``RunState`` carries what else an exact
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
    """Something to do after every optimizer step (each training batch is one step)."""

    def after_step(self, trainer: pl.Trainer) -> None:
        raise NotImplementedError

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        self.after_step(trainer)


class MidEpochCheckpoint(AfterStep):
    """``last.ckpt`` within epochs, every ``every_n_steps`` steps or ``every_seconds`` seconds."""

    def __init__(self, every_n_steps: int | None = None, every_seconds: float | None = 60.0) -> None:
        self.every_n_steps, self.every_seconds = every_n_steps, every_seconds
        self._last_save = time.monotonic()

    def after_step(self, trainer: pl.Trainer) -> None:
        by_steps = bool(self.every_n_steps) and trainer.global_step % int(self.every_n_steps or 1) == 0
        by_time = (
            self.every_seconds is not None and time.monotonic() - self._last_save >= self.every_seconds
        )
        if by_steps or by_time:
            save_last(trainer)
            self._last_save = time.monotonic()


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
