"""The compact search's picture: every trial by size and epochs, the Pareto front on top."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlab.figures.canvas import WIDTH, integer_ticks, new_figure, publish, set_title, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pareto_plot(
    done: list[Any], feasible: list[Any], front: list[Any], target: float, path: Path
) -> Path:
    """Draw the finished trials (grey below ``target``) and the front; ``path``'s PNG.

    At the figures' width and fonts (``trainlab.figures.canvas``): readable at 1:1 and in
    a narrow preview alike.
    """
    return publish(_draw(done, feasible, front, target), path.stem, path.parent)


@styled
def _draw(done: list[Any], feasible: list[Any], front: list[Any], target: float) -> Figure:
    figure = new_figure(WIDTH, 4.6)
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
            )
    ax.set(xscale="log", xlabel="parameters", ylabel="epochs to plateau")
    integer_ticks(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.legend()
    set_title(ax, "the most compact and fastest digits MLPs")
    return figure
