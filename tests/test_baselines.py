"""scikit-learn baselines train on the run's split and report beside the network."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import trainlab

from .helpers import CONFIG_DIR, ENGINES

BASELINES = sorted(p.stem for p in (CONFIG_DIR / "baseline").glob("*.yaml") if p.stem != "none")
SHORT = ["trainer.max_epochs=2", "figures=false"]


@pytest.mark.slow
@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_scores_digits_with_the_same_metrics(baseline, tmp_path: Path):
    metrics = trainlab.train(*SHORT, f"baseline={baseline}", run_dir=tmp_path).metrics
    assert {"baseline/val/acc", "baseline/test/acc"} <= set(metrics)
    assert metrics["baseline/test/acc"] > 0.8  # every one of them learns digits
    # Final numbers go to the run's HPARAMS session, not beside its epoch curves.
    summary = EventAccumulator(str(tmp_path / "summary"))
    summary.Reload()
    assert {"baseline/val/acc", "baseline/test/acc"} <= set(summary.Tags()["scalars"])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_has_a_regressor(baseline, engine, tmp_path: Path):
    result = trainlab.train(
        "experiment=addition", f"engine={engine}", *SHORT, f"baseline={baseline}", run_dir=tmp_path
    )
    names = {"baseline/val/mae", "baseline/val/rmse", "baseline/test/mae", "baseline/test/rmse"}
    assert names <= set(result.metrics)


def test_the_lessons_random_forest_is_the_default_forest(compose_train):
    cfg = compose_train("baseline=random_forest")
    assert (cfg.baseline.classifier.n_estimators, cfg.baseline.classifier.max_depth) == (10, 10)


@pytest.mark.slow
def test_no_baseline_by_default(tmp_path: Path):
    metrics = trainlab.train(*SHORT, run_dir=tmp_path).metrics
    assert not any(name.startswith("baseline/") for name in metrics)


def test_unknown_baseline_is_one_line(cli_train):
    result = cli_train("baseline=nope")
    assert result.returncode != 0
    assert len(result.error_lines()) == 1 and "baseline" in result.stderr
