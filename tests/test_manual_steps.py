"""Notebook 000's manual gradient steps: torch autograd and Keras' apply_gradients agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import run_script, write_small_mnist

pytestmark = pytest.mark.slow


def _small_mnist(root: Path) -> str:
    write_small_mnist(root / "mnist")
    overrides = [f"paths.data_dir={root}", "data.verify=false"]
    return "data_overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"


def test_the_two_paths_agree_and_fit_continues(tmp_path: Path) -> None:
    run = tmp_path / "steps"
    result = run_script("scripts/manual_steps.py", [_small_mnist(tmp_path / "data")], run)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run / "manual_steps.json").read_text())
    assert summary["agree"] and summary["largest_difference"] <= 1e-5
    assert summary["steps"] == 2 and len(summary["torch"]) == len(summary["keras"]) == 2
    for mine, theirs in zip(summary["torch"], summary["keras"], strict=True):
        assert mine["train_acc"] == theirs["train_acc"]
        assert mine["bias_grad"] == pytest.approx(theirs["bias_grad"], rel=1e-5, abs=1e-5)
        assert len(mine["kernel_grad"]) == 36 and len(mine["kernel_grad"][0]) == 2
    assert {"loss", "val_loss", "train_acc", "test_acc"} <= set(summary["fit"])
    assert summary["train_images"] < 600  # 0s and 1s of the training images only
    assert result.stdout.count("gradients of the summed loss") == 2
    assert "torch autograd and Keras' apply_gradients agree after every step" in result.stdout


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("lr=-0.1", "a positive number"),
        ("steps=0", "an integer >= 1"),
        ("fit_epochs=-1", "an integer >= 0"),
    ],
)
def test_a_bad_option_is_one_line(bad: str, expected: str, tmp_path: Path) -> None:
    result = run_script("scripts/manual_steps.py", [bad], tmp_path / "steps")
    assert result.returncode == 1
    assert result.error_lines() == [f"trainlab: error: {bad} is invalid: expected {expected}"]
