"""The Keras engine's checkpoints: ``best.keras``, ``last.keras`` and what resumes a run.

Keras' own ``ModelCheckpoint`` writes in place (a full disk leaves a truncated file) and
keeps its state in memory only. Here both files are written atomically, and each
``last.keras`` comes with the run's state beside it (the epoch, the history, the best
value so far, early stopping's counters), so ``resume=<run>`` continues from that
epoch as if the run had never stopped. The state file keeps the last two saved
epochs: if the process dies between writing the state and the model, the model's own
epoch still finds its state. As on the Lightning engine, ``last.keras`` is written at
the first epoch end after every N steps or T seconds (``callbacks.mid_epoch_checkpoint``)
and when training ends, and a run without a monitor writes ``best.keras`` once, at the end.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainlab.engines.interrupts import StopSignals
from trainlab.engines.runtime import EpochHistory
from trainlab.errors import CheckpointError
from trainlab.keras_backend import keras
from trainlab.run import write_atomically

STATE_SUFFIX = ".state.json"


def _save_model(model: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: model.save(temporary))


class BestCheckpoint(keras.callbacks.Callback):
    """``best.keras``: the model at the best value of ``monitor`` (a Keras log key); with no
    ``monitor``, the final model, written when training ends (as ``trainlab.callbacks.BestCheckpoint``).
    """

    def __init__(self, path: Path, monitor: str | None, mode: str) -> None:
        super().__init__()
        self.path, self.monitor, self.mode = path, monitor, mode
        self.best = math.inf if mode == "min" else -math.inf

    def improves(self, value: float) -> bool:
        return value < self.best if self.mode == "min" else value > self.best

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.monitor is None:
            _save_model(self.model, self.path)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor is None:
            return
        value = (logs or {}).get(self.monitor)
        if value is not None and self.improves(float(value)):
            self.best = float(value)
            _save_model(self.model, self.path)


class LastCheckpoint(keras.callbacks.Callback):
    """``last.keras`` and its run state (after the other callbacks): at the first epoch end
    after ``every_n_steps`` steps or ``every_seconds`` seconds since the last save (every
    epoch when neither is set), and when training ends.

    ``before_save`` runs first (the TensorBoard scalars' ``write_all``): the event file
    then holds every epoch the checkpoint records, so a run killed after this save and
    resumed from it shows each of them once.
    """

    def __init__(
        self,
        path: Path,
        history: EpochHistory,
        best: BestCheckpoint | None,
        early_stopping: Any | None,
        every_n_steps: int | None = None,
        every_seconds: float | None = None,
        before_save: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.before_save = before_save
        self.path, self.history, self.best, self.early_stopping = path, history, best, early_stopping
        self.every_n_steps, self.every_seconds = every_n_steps, every_seconds
        self._saved_at = (time.monotonic(), 0)  # (clock, optimizer steps) of the last save
        self._epoch = -1

    def state(self, epoch: int) -> dict[str, Any]:
        stopping = self.early_stopping
        return {
            "epoch": epoch,
            "history": self.history.epochs,
            "best": self.best.best if self.best is not None else None,
            "early_stopping": None
            if stopping is None
            else {"wait": stopping.wait, "best": stopping.best, "best_epoch": stopping.best_epoch},
            # Dropout on the torch backend draws from torch's global generator.
            "torch_rng": torch.get_rng_state().tolist(),
            "seeds": {
                layer.name: keras.ops.convert_to_numpy(layer.seed_generator.state).tolist()
                for layer in _seeded_layers(self.model)
            },
        }

    def _due(self) -> bool:
        if self.every_n_steps is None and self.every_seconds is None:
            return True
        clock, steps = self._saved_at
        by_steps = bool(self.every_n_steps) and self._steps() - steps >= int(self.every_n_steps or 1)
        by_time = self.every_seconds is not None and time.monotonic() - clock >= self.every_seconds
        return by_steps or by_time

    def _steps(self) -> int:
        return int(self.model.optimizer.iterations)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        if self._due():
            self.save(epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """The final state: ``resume=<run> trainer.max_epochs=<more>`` continues from it."""
        if self._epoch >= 0 and self._saved_at[1] != self._steps():
            self.save(self._epoch)

    def save(self, epoch: int) -> None:
        if self.before_save is not None:
            self.before_save()
        states = read_states(self.path)
        states = {k: v for k, v in states.items() if int(k) >= epoch - 1}
        states[str(epoch)] = self.state(epoch)
        text = json.dumps(states, allow_nan=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(state_file(self.path), lambda temporary: temporary.write_text(text))
        _save_model(self.model, self.path)
        self._saved_at = (time.monotonic(), self._steps())


def _seeded_layers(model: Any) -> list[Any]:
    """Layers that draw random numbers (dropout): their generators' states resume too."""
    return [layer for layer in model.layers if getattr(layer, "seed_generator", None) is not None]


def state_file(last: Path) -> Path:
    return last.with_name(last.name + STATE_SUFFIX)


def read_states(last: Path) -> dict[str, Any]:
    path = state_file(last)
    states: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return states


class RestoreState(keras.callbacks.Callback):
    """Puts a continued run's state back once the other callbacks have reset theirs.

    Keras' ``EarlyStopping`` clears its counters in ``on_train_begin``; this callback
    comes after it in the list, so its ``on_train_begin`` has the last word.
    """

    def __init__(self, state: dict[str, Any], last: LastCheckpoint, best_weights: Any) -> None:
        super().__init__()
        self.state, self.last, self.best_weights = state, last, best_weights

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        torch.set_rng_state(torch.tensor(self.state["torch_rng"], dtype=torch.uint8))
        self.last.history.epochs[:] = self.state["history"]
        if self.last.best is not None and self.state["best"] is not None:
            self.last.best.best = self.state["best"]
        stopping, saved = self.last.early_stopping, self.state["early_stopping"]
        if stopping is not None and saved is not None:
            stopping.wait, stopping.best, stopping.best_epoch = (
                saved["wait"],
                saved["best"],
                saved["best_epoch"],
            )
            stopping.best_weights = self.best_weights


def resume_state(last: Path, steps_per_epoch: int) -> tuple[Any, dict[str, Any]]:
    """The compiled model in ``last.keras`` (with its optimizer) and its epoch's run state."""
    try:
        model = keras.saving.load_model(last)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise CheckpointError(f"{last} cannot be read to continue the run: {error}") from None
    epoch = int(model.optimizer.iterations) // max(steps_per_epoch, 1) - 1
    state = read_states(last).get(str(epoch))
    if state is None:
        raise CheckpointError(f"{state_file(last)} has no state for epoch {epoch + 1} of {last}")
    for layer in _seeded_layers(model):
        layer.seed_generator.state.assign(state["seeds"][layer.name])
    return model, state


class StopOnSignal(keras.callbacks.Callback):
    """Raises ``RunInterrupted`` after the first step that ends once a signal arrived.

    The Keras engine continues from epoch boundaries: ``last.keras`` is the last
    finished epoch's.
    """

    def __init__(self, signals: StopSignals) -> None:
        super().__init__()
        self.signals, self.epoch = signals, 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.signals.received is not None:
            step = int(self.model.optimizer.iterations)
            raise self.signals.interruption(f"in epoch {self.epoch + 1} after step {step}")
