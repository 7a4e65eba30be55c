"""What the terminal shows: a run's bar and its lines, a sweep's one line per trial, --help.

The CLI tests run ``train.py`` as a user does; the progress bar's texts and the log filter
are also tested directly, since a bar drawn to a pipe shows only its last state.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import RichProgressBar

from trainlab.callbacks import ThrottledRichProgressBar
from trainlab.callbacks.progress import epoch_description
from trainlab.console import LibraryNoise, keras_verbose, quiet
from trainlab.sweep.outcome import short_params

from .helpers import REPO, Result, run_script

# Lightning's INFO lines a run's console leaves out (its train.log keeps them).
NOISE = (
    "GPU available",
    "TPU available",
    "Tip:",
    "Skipping setting a default",
    "`Trainer.fit` stopped",
    "Restoring states from the checkpoint",
    "Loaded model weights from the checkpoint",
)
# The sweeper's line per trial: "trial 3  val/acc=0.9741  complete  12 epochs  4.1 s  lr=...".
TRIAL_LINE = re.compile(r"\btrial \d+  (\S+=\S+  )?(complete|pruned|failed)\b")


def record(
    message: str, level: int = logging.INFO, name: str = "lightning.pytorch.utilities.rank_zero"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    "message",
    [
        "GPU available: False, used: False",
        "TPU available: False, using: 0 TPU cores",
        "💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]",
        "Trainer already configured with model summary callbacks: [RichModelSummary]. Skipping "
        "setting a default `ModelSummary` callback.",
        "`Trainer.fit` stopped: `max_epochs=3` reached.",
        "Restoring states from the checkpoint path at /runs/a/checkpoints/best.ckpt",
        "Loaded model weights from the checkpoint at /runs/a/checkpoints/best.ckpt",
    ],
)
def test_lightning_noise_is_dropped_from_the_console(message: str) -> None:
    noise = LibraryNoise()
    assert not noise.filter(record(message))
    assert not noise.filter(record(message, name="lightning.fabric.utilities.rank_zero"))
    assert noise.filter(record(message, logging.WARNING))  # warnings always show
    assert noise.filter(record(message, name="trainlab"))  # only Lightning's lines


def test_other_lightning_lines_and_warnings_stay() -> None:
    noise = LibraryNoise()
    assert noise.filter(record("Epoch 3, global step 120: 'val/loss' reached 0.21"))
    warning = record("/a.py:1: UserWarning: something\n", logging.WARNING, "py.warnings")
    assert noise.filter(warning) and warning.getMessage() == "/a.py:1: UserWarning: something"


def test_outside_a_multirun_the_engines_show_their_progress() -> None:
    assert not quiet()
    assert keras_verbose() == 2


def test_epochs_are_counted_from_one() -> None:
    assert epoch_description(0, 3) == "Epoch 1/3"
    assert epoch_description(2, 3) == "Epoch 3/3"
    assert epoch_description(4, -1) == "Epoch 5"  # no epoch limit
    assert epoch_description(4, None) == "Epoch 5"


def test_the_bar_labels_its_epochs_through_lightnings_hook() -> None:
    # Lightning labels the bar only in this private method: an upgrade that renames it
    # would bring back its 0-based label, so the test guards it.
    assert "_get_train_description" in vars(RichProgressBar)
    bar = ThrottledRichProgressBar()
    bar._trainer = SimpleNamespace(max_epochs=3)
    assert bar._get_train_description(2).rstrip() == "Epoch 3/3"
    assert len(bar._get_train_description(2)) == len(bar.validation_description)  # no jumping


def fake_trainer(**metrics: float) -> Any:
    return SimpleNamespace(
        loggers=[],
        progress_bar_metrics={},
        callback_metrics={name.replace("_", "/"): torch.tensor(v) for name, v in metrics.items()},
        state=SimpleNamespace(fn="fit"),
        sanity_checking=False,
    )


def test_the_bar_shows_the_running_loss_and_the_last_validation() -> None:
    bar = ThrottledRichProgressBar()
    module = SimpleNamespace(running_loss=lambda: 0.5)
    trainer = fake_trainer(val_acc=0.9, val_loss=0.25, train_loss=0.3)
    assert bar.get_metrics(trainer, module) == {"train/loss": 0.5}  # before any validation
    bar.on_validation_end(trainer, module)
    shown = bar.get_metrics(trainer, module)
    assert shown == pytest.approx({"train/loss": 0.5, "val/loss": 0.25, "val/acc": 0.9})
    assert list(shown) == ["train/loss", "val/loss", "val/acc"]
    # A module without ``running_loss`` (or before its first step) shows no train loss.
    assert "train/loss" not in bar.get_metrics(trainer, SimpleNamespace())
    assert "train/loss" not in bar.get_metrics(trainer, SimpleNamespace(running_loss=lambda: None))


def test_fast_epochs_keep_one_validation_task_and_end_on_the_last_epoch(tmp_path: Path) -> None:
    # Lightning adds a validation task per epoch; every redraw walks them all.
    from lightning.pytorch import Trainer
    from lightning.pytorch.demos.boring_classes import BoringModel

    bar = ThrottledRichProgressBar(refresh_per_second=1e-3)  # draws the first and last epochs
    trainer = Trainer(
        max_epochs=40,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[bar],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(BoringModel())
    assert bar.progress is not None
    tasks = bar.progress.tasks
    assert len(tasks) <= 3, [task.description for task in tasks]  # train, sanity check, val
    train = next(task for task in tasks if "Epoch" in task.description)
    assert train.description.startswith("Epoch 40/40") and train.completed == 2


def test_trial_parameters_are_short_unless_ambiguous() -> None:
    params = {"optimizer.lr": 0.012345678, "model.hidden": 64, "model.activation": "relu"}
    assert short_params(params) == "lr=0.01235 hidden=64 activation=relu"
    assert short_params({"a.x": 1, "b.x": 2, "c": 0.5}) == "a.x=1 b.x=2 c=0.5"


def output_of(result: Result) -> str:
    return result.stdout + result.stderr


@pytest.mark.slow
def test_a_run_shows_its_epochs_from_one_without_lightnings_noise(
    cli_train: Callable[..., Result],
) -> None:
    result = cli_train("trainer.max_epochs=2", "figures=false")
    assert result.returncode == 0, result.stderr[-3000:]
    output = output_of(result)
    assert [line for line in NOISE if line in output] == []
    bar = [line for line in output.splitlines() if line.startswith("Epoch ")]
    assert len(bar) == 1 and bar[0].startswith("Epoch 2/2 "), output[-3000:]
    assert "train/loss:" in bar[0] and "val/loss:" in bar[0] and "val/acc:" in bar[0]
    assert "Validation" not in output and "Testing" not in output  # the reloaded best's bars
    assert "\n\n" not in result.stdout
    log = (result.run_dir / "train.log").read_text()
    assert "GPU available" in log and "Restoring states" in log  # kept where they are looked up


@pytest.mark.slow
def test_an_early_stop_between_drawn_epochs_still_shows_its_last_epoch(
    cli_train: Callable[..., Result],
) -> None:
    # Drawing only the first and the last of max_epochs: the epoch early stopping ends on
    # is not drawn while it runs, and must be drawn when the fit ends.
    result = cli_train(
        "data.batch_size=full",
        "trainer.max_epochs=500",
        "callbacks.early_stopping.patience=2",
        "callbacks.early_stopping.min_delta=0.01",
        "callbacks.rich_progress_bar.refresh_per_second=0.001",
        "figures=false",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = output_of(result)
    reason = r"early stopping at epoch (\d+): val/loss did not improve by min_delta=0.01 for 2 epochs"
    stopped = re.search(reason, output)
    assert stopped is not None and int(stopped.group(1)) < 500, output[-3000:]
    bar = [line for line in output.splitlines() if line.startswith("Epoch ")]
    assert len(bar) == 1 and bar[0].startswith(f"Epoch {stopped.group(1)}/500 "), output[-3000:]
    assert "train/loss:" in bar[0] and "val/loss:" in bar[0], bar[0]


@pytest.mark.slow
def test_removing_the_bar_and_the_summary_leaves_neither(cli_train: Callable[..., Result]) -> None:
    # Lightning would put its own tqdm bar and summary in their place.
    removed = ("~callbacks.rich_progress_bar", "~callbacks.model_summary")
    result = cli_train("trainer.max_epochs=2", "figures=false", *removed)
    assert result.returncode == 0, result.stderr[-3000:]
    output = output_of(result)
    assert "it/s" not in output and "Epoch " not in output, output[-3000:]
    assert "Trainable params" not in output and "| Name " not in output, output[-3000:]
    assert "metrics: test/acc=" in output


def test_help_lists_the_groups_and_examples(tmp_path: Path) -> None:
    result = run_script("train.py", ["--help"], tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    experiments = next(line for line in lines if line.startswith("experiment: "))
    assert "digits_dropout" in experiments
    assert any(line.startswith("engine: ") and "keras" in line for line in lines)
    assert any(line.startswith("hparams_search: ") and "digits_optuna" in line for line in lines)
    for example in (
        "python train.py experiment=digits_dropout",
        "python train.py engine=keras",
        "python train.py -m hparams_search=digits_optuna",
        "python train.py resume=",
        "python eval.py ckpt_path=",
    ):
        assert example in result.stdout, example
    assert "powered by Hydra" not in result.stdout
    assert not (tmp_path / "run").exists()  # help runs nothing


def test_eval_help_says_what_it_needs(tmp_path: Path) -> None:
    result = run_script("eval.py", ["--help"], tmp_path / "eval")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ckpt_path: ???" in result.stdout and "python eval.py ckpt_path=" in result.stdout


@pytest.mark.slow
def test_a_sweep_prints_one_line_per_trial(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "train.py",
        "-m",
        "hparams_search=digits_optuna",
        "hydra.sweeper.n_trials=3",
        "trainer.max_epochs=2",
        "hydra.sweeper.sampler.seed=0",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    lines = output.splitlines()
    assert len([line for line in lines if TRIAL_LINE.search(line)]) == 3, output
    assert len(lines) < 40, output
    for quiet_in_sweeps in ("Epoch ", "Trainable params", "Launching", *NOISE):
        assert quiet_in_sweeps not in output, quiet_in_sweeps


@pytest.mark.slow
def test_a_plain_multirun_prints_one_line_per_job(tmp_path: Path) -> None:
    command = [sys.executable, "train.py", "-m", "seed=1,2", "trainer.max_epochs=1", "figures=false"]
    done = subprocess.run(
        [*command, f"hydra.sweep.dir={tmp_path}"],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    jobs = [line for line in done.stdout.splitlines() if re.match(r"\d_seed=\d[^:]*: .*val/acc=", line)]
    assert [line.split(",")[0] for line in jobs] == ["0_seed=1", "1_seed=2"], done.stdout
