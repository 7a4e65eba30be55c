"""The compact search's picture: every trial by size and epochs, the Pareto front on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.figures.canvas import new_figure, publish, set_title


def pareto_plot(
    done: list[Any], feasible: list[Any], front: list[Any], target: float, path: Path
) -> Path:
    """Draw the finished trials (grey below ``target``) and the front; ``path``'s PNG."""
    figure = new_figure(7.0, 4.8)
    ax = figure.subplots()
    below = [t for t in done if t not in feasible]
    styles: list[tuple[list[Any], dict[str, Any]]] = [
        (below, {"color": "lightgray", "label": f"val/acc < {target}"}),
        (feasible, {"color": "tab:blue", "label": f"val/acc >= {target}"}),
    ]
    for trials, style in styles:
        if trials:
            ax.scatter([t.values[0] for t in trials], [t.values[1] for t in trials], s=25, **style)
    if front:
        xs, ys = [t.values[0] for t in front], [t.values[1] for t in front]
        ax.step(xs, ys, where="post", color="tab:red", linewidth=1.5, label="Pareto front")
        ax.scatter(xs, ys, s=60, facecolors="none", edgecolors="tab:red")
        for t in front:
            ax.annotate(
                f"{t.params['depth']}x{t.params['width']} {t.params['activation']}",
                (t.values[0], t.values[1]),
                textcoords="offset points",
                xytext=(5, 5),
                fontsize=7,
            )
    ax.set(xscale="log", xlabel="parameters", ylabel="epochs to plateau")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    set_title(ax, "the most compact and fastest digits MLPs")
    return publish(figure, path.stem, path.parent)
