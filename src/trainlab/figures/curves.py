"""Learning curves: the training and validation loss and task metrics, per epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from trainlab.figures.canvas import new_figure, set_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def learning_curves(epochs: Sequence[dict[str, float]], metric_names: Sequence[str]) -> Figure:
    """One panel per metric (loss first), train and val as two lines over the epochs."""
    figure = new_figure(4.2 * len(metric_names), 3.4)
    axes = figure.subplots(1, len(metric_names), squeeze=False)[0]
    for ax, name in zip(axes, metric_names, strict=True):
        for stage, style in (("train", "-o"), ("val", "-s")):
            points = [(e["epoch"] + 1, e[f"{stage}/{name}"]) for e in epochs if f"{stage}/{name}" in e]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, markersize=3, label=stage)
        ax.set_xlabel("epoch")
        set_title(ax, name)
        ax.grid(alpha=0.3)
        if not ax.has_data():
            ax.text(0.5, 0.5, "no finished epoch", ha="center", va="center", transform=ax.transAxes)
    if axes[0].has_data():
        axes[0].legend()  # one legend: the panels share their two lines' styles
    if "loss" in metric_names and epochs and all(e.get("train/loss", 1) > 0 for e in epochs):
        loss_ax = axes[list(metric_names).index("loss")]
        loss_ax.set_yscale("log")
        loss_ax.minorticks_off()  # a log axis' minor ticks cost a third of the drawing
        # Plain numbers ("0.1"): the default "10^-1" labels are mathtext, parsed at every draw.
        loss_ax.yaxis.set_major_formatter(lambda value, _: f"{value:g}")
    return figure
