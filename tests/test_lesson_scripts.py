"""The gradient-descent lesson and the compact-model search, run as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from .helpers import run_script

pytestmark = pytest.mark.slow


def _pngs_are_valid(directory: Path, names: set[str]) -> None:
    assert {p.stem for p in directory.glob("*.png")} == names
    for name in names:
        with Image.open(directory / f"{name}.png") as image:
            image.verify()


def test_gradient_descent_paths_coincide(tmp_path: Path):
    result = run_script("scripts/gradient_descent.py", ["lr=0.05", "steps=40"], tmp_path / "gd")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "gd" / "descent.json").read_text())
    assert summary["agree"] and summary["largest_disagreement"] <= 1e-5
    assert summary["compared_steps"] == 41 and not summary["diverged"]
    assert summary["final"]["numpy"][0] == pytest.approx(3.0, abs=0.05)  # w1 -> 3
    assert summary["gradient_by_hand"] == pytest.approx(summary["gradient_autograd"], abs=1e-9)
    assert "the three paths agree at every step" in result.stdout
    rows = list(csv.DictReader((tmp_path / "gd" / "paths.csv").open()))
    assert len(rows) == 41 and float(rows[1]["keras_w1"]) == pytest.approx(float(rows[1]["numpy_w1"]))
    _pngs_are_valid(tmp_path / "gd", {"surface", "paths", "loss"})


def test_gradient_descent_shows_a_diverging_rate_without_crashing(tmp_path: Path):
    result = run_script("scripts/gradient_descent.py", ["lr=1.0", "steps=60"], tmp_path / "gd")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "gd" / "descent.json").read_text())
    assert summary["diverged"] and summary["agree"]
    assert "lr=1 diverges: the loss grows from" in result.stdout
    _pngs_are_valid(tmp_path / "gd", {"surface", "paths", "loss"})


@pytest.mark.parametrize("bad", ["lr=-0.1", "steps=0"])
def test_gradient_descent_bad_option_is_one_line(bad, tmp_path: Path):
    result = run_script("scripts/gradient_descent.py", [bad], tmp_path / "gd")
    assert result.returncode != 0
    assert len(result.error_lines()) == 1 and bad.split("=")[0] in result.stderr


COMPACT_SHORT = ["n_trials=3", "max_epochs=6"]


def test_compact_search_prints_and_saves_the_pareto_front(tmp_path: Path):
    run = tmp_path / "search"
    result = run_script("scripts/compact_search.py", [*COMPACT_SHORT, "target_acc=0.5"], run)
    assert result.returncode == 0, result.stderr
    assert "Pareto front" in result.stdout and "smallest reaching val/acc >= 0.5" in result.stdout
    front = list(csv.DictReader((run / "pareto.csv").open()))
    trials = list(csv.DictReader((run / "trials.csv").open()))
    assert len(trials) == 3 and 1 <= len(front) <= 3
    assert all(float(row["val_acc"]) >= 0.5 for row in front)
    sizes = [int(row["parameters"]) for row in front]
    epochs = [int(row["epochs_to_plateau"]) for row in front]
    assert sizes == sorted(sizes) and epochs == sorted(epochs, reverse=True)  # a real trade-off
    _pngs_are_valid(run, {"pareto"})


def test_compact_search_that_reaches_nothing_is_one_line(tmp_path: Path):
    run = tmp_path / "search"
    result = run_script(
        "scripts/compact_search.py",
        ["n_trials=1", "target_acc=1.0", "max_epochs=1"],
        run,
    )
    assert result.returncode == 1
    assert result.error_lines()[-1].startswith("trainlab: error: no trial reached val/acc >= 1.0")
    assert (run / "trials.csv").is_file() and (run / "pareto.png").is_file()
