"""scikit-learn baselines train on the run's split and report beside the network."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainlab.cli import fit

from .conftest import CONFIG_DIR

pytestmark = pytest.mark.slow
BASELINES = sorted(p.stem for p in (CONFIG_DIR / "baseline").glob("*.yaml") if p.stem != "none")
SHORT = ["trainer.max_epochs=2", "figures=false"]


@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_scores_digits_with_the_same_metrics(baseline, compose_train, tmp_path: Path):
    metrics = fit(compose_train(*SHORT, f"baseline={baseline}", f"paths.output_dir={tmp_path}"))
    assert {"baseline/val/acc", "baseline/test/acc"} <= set(metrics)
    assert metrics["baseline/test/acc"] > 0.8  # every one of them learns digits
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert {"baseline/val/acc", "baseline/test/acc"} <= set(events.Tags()["scalars"])


@pytest.mark.parametrize("engine", ["lightning", "keras"])
@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_has_a_regressor(baseline, engine, compose_train, tmp_path: Path):
    cfg = compose_train(
        "experiment=addition",
        f"engine={engine}",
        *SHORT,
        f"baseline={baseline}",
        f"paths.output_dir={tmp_path}",
    )
    metrics = fit(cfg)
    names = {"baseline/val/mae", "baseline/val/rmse", "baseline/test/mae", "baseline/test/rmse"}
    assert names <= set(metrics)


def test_the_lessons_random_forest_is_the_default_forest(compose_train):
    cfg = compose_train("baseline=random_forest")
    assert (cfg.baseline.classifier.n_estimators, cfg.baseline.classifier.max_depth) == (10, 10)


def test_no_baseline_by_default(compose_train, tmp_path: Path):
    metrics = fit(compose_train(*SHORT, f"paths.output_dir={tmp_path}"))
    assert not any(name.startswith("baseline/") for name in metrics)


def test_unknown_baseline_is_one_line(train):
    result = train("baseline=nope")
    assert result.returncode != 0
    assert len(result.error_lines()) == 1 and "baseline" in result.stderr
