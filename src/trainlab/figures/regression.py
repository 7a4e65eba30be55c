"""Regression figures: predicted against true values, and the residuals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trainlab.figures.canvas import WIDTH, new_figure, set_title, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARGINS = (0.85, 0.25, 0.6, 0.45)  # left, right, bottom, top: tick labels, axis labels, title
PANEL_HEIGHT = 2.2  # inches, each of the residuals' two rows
GAP = 0.95  # inches between them: the upper row's axis label and the lower row's title


@styled
def predicted_vs_true(true: np.ndarray, predicted: np.ndarray) -> Figure:
    """Predicted against true on a square plot: the diagonal is where they agree."""
    left, right, bottom, top = MARGINS
    side = WIDTH - left - right
    figure = new_figure(WIDTH, side + bottom + top, margins=MARGINS)
    ax = figure.subplots()
    ax.scatter(true, predicted, s=6, alpha=0.4, rasterized=True)
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([low, high], [low, high], "k--", linewidth=1, label="predicted = true")
    rmse = float(np.sqrt(np.mean((predicted - true) ** 2)))
    ax.set(xlabel="true", ylabel="predicted")
    set_title(ax, f"test: predicted vs true (RMSE {rmse:.3f})")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return figure


@styled
def residuals(true: np.ndarray, predicted: np.ndarray) -> Figure:
    """Residuals against the prediction (patterns mean bias) above their histogram.

    Stacked, not side by side: two panels abreast are too wide for a TensorBoard card.
    """
    errors = predicted - true
    _, _, bottom, top = MARGINS
    height = 2 * PANEL_HEIGHT + GAP + bottom + top
    figure = new_figure(WIDTH, height, margins=MARGINS, hspace=GAP / PANEL_HEIGHT)
    scatter_ax, hist_ax = figure.subplots(2, 1)
    scatter_ax.scatter(predicted, errors, s=6, alpha=0.4, rasterized=True)
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
