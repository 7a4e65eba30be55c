"""Several optimizer steps per ``training_step`` (``engine.steps_per_call``) change the
framework's cost only: the same weights, metrics, curves and stops as one step per call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch

import trainlab

from .helpers import DIVERGING

pytestmark = pytest.mark.slow

# Dropout on, so the random draws must come in the same order at any grouping.
RUN = ("model=mlp_dropout", "data.batch_size=32", "figures=false", "~callbacks.rich_progress_bar")


class CountSaves(pl.Callback):
    """Counts the checkpoints the run writes (Lightning calls this for every save)."""

    def __init__(self) -> None:
        self.saves = 0

    def on_save_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: Any
    ) -> None:
        self.saves += 1


class CountBackward(pl.Callback):
    """Listens around each backward, as a callback that logs gradients would."""

    def __init__(self) -> None:
        self.before = self.after = 0

    def on_before_backward(
        self, trainer: pl.Trainer, module: pl.LightningModule, loss: torch.Tensor
    ) -> None:
        self.before += 1

    def on_after_backward(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.after += 1


def _weights(run_dir: Path, name: str = "best") -> tuple[dict[str, torch.Tensor], int]:
    checkpoint = torch.load(run_dir / "checkpoints" / f"{name}.ckpt", weights_only=False)
    return checkpoint["state_dict"], int(checkpoint["global_step"])


def test_grouped_steps_train_exactly_as_single_steps(tmp_path: Path) -> None:
    runs = {}
    for setting in ("1", "7", "auto"):
        result = trainlab.train(
            *RUN, "trainer.max_epochs=2", f"engine.steps_per_call={setting}", run_dir=tmp_path / setting
        )
        runs[setting] = (
            result.metrics,
            *_weights(tmp_path / setting),
            (tmp_path / setting / "history.csv").read_text(),
        )
    metrics, weights, steps, history = runs["1"]
    assert steps == 2 * 37  # global_step counts optimizer steps: 1,167 samples / 32 per epoch
    for setting in ("7", "auto"):
        other_metrics, other_weights, other_steps, other_history = runs[setting]
        assert other_metrics == metrics and other_steps == steps and other_history == history
        assert all(torch.equal(weights[key], other_weights[key]) for key in weights)


def test_a_callback_around_the_backward_is_called_and_changes_nothing(tmp_path: Path) -> None:
    """Without such a callback the engine calls ``loss.backward()`` itself (Lightning's
    way adds only cost on one device); with one, every step goes through Lightning's."""
    counter = CountBackward()
    runs = {}
    for name, callbacks in (("plain", []), ("hooked", [counter])):
        result = trainlab.train(
            *RUN, "trainer.max_epochs=2", callbacks=callbacks, run_dir=tmp_path / name
        )
        runs[name] = (
            result.metrics,
            *_weights(tmp_path / name),
            (tmp_path / name / "history.csv").read_text(),
        )
    assert counter.before == counter.after == 2 * 37
    metrics, weights, steps, history = runs["plain"]
    hooked_metrics, hooked_weights, hooked_steps, hooked_history = runs["hooked"]
    assert hooked_metrics == metrics and hooked_steps == steps and hooked_history == history
    assert all(torch.equal(weights[key], hooked_weights[key]) for key in weights)


def test_early_stopping_stops_at_the_same_epoch_at_any_grouping(tmp_path: Path) -> None:
    stop = ("callbacks.early_stopping.patience=0", "callbacks.early_stopping.min_delta=0.5")
    records = {}
    for setting in ("1", "5"):
        run_dir = tmp_path / setting
        trainlab.train(
            *RUN, *stop, "trainer.max_epochs=10", f"engine.steps_per_call={setting}", run_dir=run_dir
        )
        records[setting] = (run_dir / "history.csv").read_text(), _weights(run_dir)[1]
    assert records["1"] == records["5"]
    assert records["1"][0].count("\n") - 1 < 10  # stopped early, after the same epochs


def test_a_nonfinite_loss_stops_a_grouped_run_in_one_line(cli_train, data_dir) -> None:
    result = cli_train(*data_dir.housing, *DIVERGING, "engine.steps_per_call=4")
    assert result.returncode != 0
    lines = result.error_lines()
    assert len(lines) == 1 and "NaN" in lines[0], result.stderr
    assert re.search(r"in epoch [2-5]", lines[0]), lines[0]


def test_without_a_monitor_the_best_checkpoint_is_written_once_at_the_end(tmp_path: Path) -> None:
    counter = CountSaves()
    result = trainlab.train(
        *RUN,
        "trainer.max_epochs=6",
        "callbacks.model_checkpoint.monitor=null",
        "~callbacks.early_stopping",
        callbacks=[counter],
        run_dir=tmp_path / "run",
    )
    assert counter.saves == 2  # best.ckpt and last.ckpt, once each, not after every epoch
    best, steps = _weights(tmp_path / "run")
    last, last_steps = _weights(tmp_path / "run", "last")
    assert steps == last_steps == 6 * 37
    assert all(torch.equal(best[key], last[key]) for key in best)
    assert result.metrics["val/acc"] > 0


def test_a_bad_steps_per_call_is_one_line(cli_train) -> None:
    result = cli_train("engine.steps_per_call=0")
    assert result.returncode == 2
    lines = result.error_lines()
    assert len(lines) == 1 and "engine.steps_per_call=0" in lines[0] and "auto" in lines[0], (
        result.stderr
    )
