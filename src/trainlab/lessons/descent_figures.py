"""The gradient-descent lesson's pictures: the MSE surface and the paths across it.

At the width and fonts of every trainlab figure (``trainlab.figures.canvas``): panels are
stacked, never side by side, so a figure shown in a narrow preview keeps readable text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from trainlab.figures.canvas import (
    WIDTH,
    integer_ticks,
    log_scale,
    new_figure,
    publish,
    set_title,
    styled,
)
from trainlab.lessons.linear_neuron import Array, Problem

# Drawn on top of each other: the coinciding paths must all stay visible.
STYLES: dict[str, dict[str, Any]] = {
    "numpy": {
        "color": "black",
        "linestyle": "-",
        "marker": "o",
        "markersize": 5,
        "label": "by hand (NumPy)",
    },
    "torch": {
        "color": "tab:orange",
        "linestyle": "--",
        "marker": "x",
        "markersize": 7,
        "label": "torch SGD",
    },
    "keras": {
        "color": "tab:cyan",
        "linestyle": ":",
        "marker": "+",
        "markersize": 9,
        "label": "Keras SGD (fit)",
    },
}


def _grid(problem: Problem, cfg: DictConfig) -> tuple[Array, Array, Array, Array]:
    """The (w1, w0) grid, widened to hold the start and the minimum; the loss on it; the minimum."""
    minimum = np.polyfit(problem.x, problem.y, 1)  # [w1, w0] of the least-squares line
    start = np.asarray(cfg.start, dtype=np.float64)
    ranges = []
    for i, key in enumerate(("w1", "w0")):
        low, high = (float(v) for v in cfg.surface[key])
        low, high = min(low, start[i] - 1, minimum[i] - 1), max(high, start[i] + 1, minimum[i] + 1)
        ranges.append(np.linspace(low, high, int(cfg.surface.points)))
    w1, w0 = np.meshgrid(*ranges)
    return w1, w0, problem.loss(w1, w0), minimum


def _levels(loss: Array) -> Array:
    return np.geomspace(max(float(loss.min()), 1e-3), float(loss.max()), 15)


def _contour(ax: Any, w1: Array, w0: Array, loss: Array, minimum: Array, start: Array) -> None:
    ax.contour(w1, w0, loss, levels=_levels(loss), cmap="viridis", linewidths=0.8)
    ax.plot(*start, marker="*", color="red", markersize=13, linestyle="none", label="start", zorder=5)
    ax.plot(
        *minimum, marker="P", color="green", markersize=10, linestyle="none", label="minimum", zorder=5
    )
    ax.set(
        xlabel="w1 (weight)", ylabel="w0 (bias)", xlim=(w1.min(), w1.max()), ylim=(w0.min(), w0.max())
    )


@styled
def draw(
    problem: Problem,
    paths: dict[str, Array],
    losses: dict[str, Array],
    cfg: DictConfig,
    output_dir: Path,
) -> list[Path]:
    """``surface``, ``paths`` and ``loss`` PNGs in ``output_dir``."""
    w1, w0, loss, minimum = _grid(problem, cfg)
    start = np.asarray(cfg.start, dtype=np.float64)
    lr = float(cfg.lr)

    # The 3D view above its contour map. A 3D axes draws its tick labels inside its box:
    # the box spans the figure's width, the contour map below keeps the margins.
    surface = new_figure(WIDTH, 9.6, margins=(0.85, 0.3, 0.6, 5.2))
    ax3d: Any = surface.add_axes((0.0, 0.53, 0.95, 0.44), projection="3d")  # an Axes3D
    ax3d.plot_surface(w1, w0, loss, cmap="viridis", alpha=0.85, linewidth=0, rstride=4, cstride=4)
    ax3d.scatter(*start, problem.loss(*start), color="red", s=40, depthshade=False)
    ax3d.set(xlabel="w1", ylabel="w0")
    ax3d.set_zlabel("MSE", labelpad=10)
    set_title(ax3d, "MSE surface of y_hat = w1 x + w0")
    ax = surface.subplots()
    _contour(ax, w1, w0, loss, minimum, start)
    ax.legend(loc="upper right")
    set_title(ax, "contour map, with the starting point")

    walk = new_figure(WIDTH, 5.2)
    ax = walk.subplots()
    _contour(ax, w1, w0, loss, minimum, start)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], **STYLES[name], linewidth=1.2, alpha=0.9)
    ax.legend(loc="upper right")
    set_title(ax, f"gradient descent, lr={lr:g}, {len(paths['numpy']) - 1} steps")

    curve = new_figure(WIDTH, 4.0)
    ax = curve.subplots()
    finite_values = []
    for name, values in losses.items():
        steps = np.arange(len(values))
        finite = np.isfinite(values)
        ax.plot(steps[finite], values[finite], **STYLES[name], linewidth=1.2)
        finite_values.append(values[finite])
    ax.set(xlabel="step", ylabel="MSE")
    if np.concatenate(finite_values).min(initial=np.inf) > 0 and log_scale(ax):
        ax.set_ylabel("MSE (log scale)")
    integer_ticks(ax.xaxis)
    ax.grid(alpha=0.3)
    ax.legend()
    set_title(ax, f"loss per step, lr={lr:g}")
    figures = {"surface": surface, "paths": walk, "loss": curve}
    return [publish(figure, name, output_dir) for name, figure in figures.items()]
