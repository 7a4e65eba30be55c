"""The gradient-descent lesson's pictures: the MSE surface and the paths across it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from trainlab.figures.canvas import new_figure, publish, set_title
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


def draw(
    problem: Problem,
    paths: dict[str, Array],
    losses: dict[str, Array],
    cfg: DictConfig,
    output_dir: Path,
) -> list[Path]:
    w1, w0, loss, minimum = _grid(problem, cfg)
    start = np.asarray(cfg.start, dtype=np.float64)
    lr = float(cfg.lr)

    surface = new_figure(11, 4.8, margins=(0.3, 0.3, 0.6, 0.4), wspace=0.15)
    ax3d = surface.add_subplot(1, 2, 1, projection="3d")
    ax3d.plot_surface(w1, w0, loss, cmap="viridis", alpha=0.85, linewidth=0, rstride=4, cstride=4)
    ax3d.scatter(*start, problem.loss(*start), color="red", s=40, depthshade=False)
    ax3d.set(xlabel="w1", ylabel="w0", zlabel="MSE")
    set_title(ax3d, "MSE surface of y_hat = w1 x + w0")
    ax = surface.add_subplot(1, 2, 2)
    _contour(ax, w1, w0, loss, minimum, start)
    ax.legend(loc="upper right")
    set_title(ax, "contour map, with the starting point")

    walk = new_figure(6.4, 5.4)
    ax = walk.subplots()
    _contour(ax, w1, w0, loss, minimum, start)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], **STYLES[name], linewidth=1.2, alpha=0.9)
    ax.legend(loc="upper right", fontsize=8)
    set_title(ax, f"gradient descent, lr={lr:g}, {len(paths['numpy']) - 1} steps")

    curve = new_figure(6.4, 4.0)
    ax = curve.subplots()
    for name, values in losses.items():
        steps = np.arange(len(values))
        finite = np.isfinite(values)
        ax.plot(steps[finite], values[finite], **STYLES[name], linewidth=1.2)
    ax.set(xlabel="step", ylabel="MSE", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    set_title(ax, f"loss per step, lr={lr:g}")
    figures = {"surface": surface, "paths": walk, "loss": curve}
    return [publish(figure, name, output_dir) for name, figure in figures.items()]
