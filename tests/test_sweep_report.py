"""A sweep names its metric: in its study (for Optuna's dashboard) and on its report's plots.

The study also records how the sweep was started: the command line and the config groups.
No trial trains here: the studies are filled with made-up trials.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from trainlab.errors import TrainlabError
from trainlab.figures.canvas import WIDTH_PX
from trainlab.sweep.report import PLOTS, plot_figures, write_plots
from trainlab.sweep.study import open_study

METRIC = "val/acc"
CHOICES = {
    "data": "digits",
    "model": "mlp",
    "experiment": None,
    "paths": "default",
    "hydra": "default",
    "hydra/sweeper": "optuna",
}


def _study_with_trials(count: int = 6) -> Any:
    """An in-memory study of ``count`` finished trials over two parameters."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    space = {
        "optimizer.lr": FloatDistribution(1e-4, 1e-1, log=True),
        "model.hidden": CategoricalDistribution(["[32]", "[64,32]"]),
    }
    for i in range(count):
        params = {"optimizer.lr": 10 ** (-4 + 0.5 * i), "model.hidden": ["[32]", "[64,32]"][i % 2]}
        value = 0.8 + 0.02 * i - 0.01 * (i % 2)
        study.add_trial(optuna.trial.create_trial(params=params, distributions=space, value=value))
    return study


def test_the_study_names_its_metric_and_how_the_sweep_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["/work/train.py", "-m", "hparams_search=digits_optuna"])
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = open_study("s", url, "maximize", metric=METRIC, config_groups=CHOICES)
    assert study.metric_names == [METRIC]  # Optuna's dashboard shows it instead of "Objective 0"
    assert study.user_attrs["command"] == "python train.py -m hparams_search=digits_optuna"
    assert study.user_attrs["config_groups"] == {"data": "digits", "model": "mlp", "experiment": None}

    again = open_study("s", url, "maximize", metric=METRIC)  # a second worker, a resumed sweep
    assert again.metric_names == [METRIC]
    assert again.user_attrs["config_groups"] == study.user_attrs["config_groups"]
    with pytest.raises(TrainlabError, match="optimizes val/acc, not val/loss"):
        open_study("s", url, "maximize", metric="val/loss")


def test_the_report_plots_label_the_objective_with_the_metric() -> None:
    figures = plot_figures(_study_with_trials(), METRIC)
    assert set(figures) == set(PLOTS)
    history = figures["optimization_history.png"].axes[0]
    assert history.get_ylabel() == METRIC
    assert history.get_xlabel() == "Trial"
    low, high = history.get_xlim()
    trials = [t for t in history.get_xticks() if low <= t <= high]
    assert len(trials) >= 2 and all(float(t).is_integer() for t in trials)  # no trial 2.5
    for name, figure in figures.items():
        labels = {ax.get_ylabel() for ax in figure.axes} | {ax.get_xlabel() for ax in figure.axes}
        legends = {t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().texts}
        assert METRIC in labels | legends, name
        assert "Objective Value" not in labels | legends, name


def test_the_report_plots_are_written_at_the_figures_width(tmp_path: Path) -> None:
    import matplotlib

    # Resolving the backend (on first use) rewrites these two; they are not a style.
    resolved = ("backend", "backend_fallback")
    before = {k: v for k, v in matplotlib.rcParams.items() if k not in resolved}
    written = write_plots(_study_with_trials(), tmp_path, METRIC)
    assert {path.name for path in written} == set(PLOTS)
    for path in written:
        with Image.open(path) as image:
            assert 0.8 * WIDTH_PX <= image.size[0] <= 1.3 * WIDTH_PX, path.name
    after = {k: v for k, v in matplotlib.rcParams.items() if k not in resolved}
    assert after == before  # Optuna's ggplot style does not leak
