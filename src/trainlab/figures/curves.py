"""Learning curves: the training and validation loss and task metrics, per epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from trainlab.figures.canvas import WIDTH, integer_ticks, log_scale, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL_HEIGHT = 2.0  # inches: one metric per row, so the figure keeps its width
GAP = 0.25  # inches between two rows (they share the epoch axis: no labels between them)
MARGINS = (0.85, 0.2, 0.6, 0.2)  # left, right, bottom, top


@styled
def learning_curves(epochs: Sequence[dict[str, float]], metric_names: Sequence[str]) -> Figure:
    """One row per metric (loss first), train and val as two lines over the epochs.

    Rows instead of columns: a row of three panels is too wide for a TensorBoard card,
    which would shrink its text below reading size. The epoch axis is shared and has
    whole-number ticks; the loss gets a labelled log axis when it is positive.
    """
    rows = len(metric_names)
    _, _, bottom, top = MARGINS
    height = rows * PANEL_HEIGHT + (rows - 1) * GAP + bottom + top
    figure = new_figure(WIDTH, height, margins=MARGINS, hspace=GAP / PANEL_HEIGHT)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, metric_names, strict=True):
        for stage, style in (("train", "-o"), ("val", "-s")):
            points = [(e["epoch"] + 1, e[f"{stage}/{name}"]) for e in epochs if f"{stage}/{name}" in e]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, markersize=4, label=stage)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if not ax.has_data():
            ax.text(0.5, 0.5, "no finished epoch", ha="center", va="center", transform=ax.transAxes)
    axes[-1].set_xlabel("epoch")
    integer_ticks(axes[-1].xaxis)  # shared: one locator for every row
    if axes[0].has_data():
        axes[0].legend()  # one legend: the rows share their two lines' styles
    if "loss" in metric_names:
        loss_ax = axes[list(metric_names).index("loss")]
        losses = [v for e in epochs for k, v in e.items() if k.endswith("/loss")]
        if losses and min(losses) > 0 and log_scale(loss_ax):
            loss_ax.set_ylabel("loss (log scale)")
    return figure
