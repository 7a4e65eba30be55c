"""Regression figures: predicted against true values, and the residuals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trainlab.figures.canvas import new_figure, set_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def predicted_vs_true(true: np.ndarray, predicted: np.ndarray) -> Figure:
    figure = new_figure(4.6, 4.4)
    ax = figure.subplots()
    ax.scatter(true, predicted, s=4, alpha=0.4, rasterized=True)
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([low, high], [low, high], "k--", linewidth=1, label="predicted = true")
    rmse = float(np.sqrt(np.mean((predicted - true) ** 2)))
    ax.set(
        xlabel="true",
        ylabel="predicted",
    )
    set_title(ax, f"test: predicted vs true (RMSE {rmse:.3f})")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return figure


def residuals(true: np.ndarray, predicted: np.ndarray) -> Figure:
    """Residuals against the prediction (patterns mean bias) and their histogram."""
    errors = predicted - true
    figure = new_figure(8.4, 3.6, wspace=0.35)
    scatter_ax, hist_ax = figure.subplots(1, 2)
    scatter_ax.scatter(predicted, errors, s=4, alpha=0.4, rasterized=True)
    scatter_ax.axhline(0, color="k", linestyle="--", linewidth=1)
    scatter_ax.set(xlabel="predicted", ylabel="predicted - true")
    set_title(scatter_ax, "residuals (test)")
    hist_ax.hist(errors, bins=min(50, max(5, len(errors) // 10)))
    hist_ax.axvline(0, color="k", linestyle="--", linewidth=1)
    hist_ax.set(xlabel="predicted - true", ylabel="samples")
    set_title(hist_ax, f"mean {errors.mean():+.3f}, std {errors.std():.3f}")
    for ax in (scatter_ax, hist_ax):
        ax.grid(alpha=0.3)
    return figure
