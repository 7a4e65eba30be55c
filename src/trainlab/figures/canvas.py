"""Render a matplotlib figure once; write it as a PNG and as a TensorBoard image.

Drawing with the Agg canvas and reusing its pixels for both outputs costs one render
per figure (``savefig`` plus ``SummaryWriter.add_figure`` would cost two).

Every figure is drawn for the place people look at it: TensorBoard's IMAGES tab shrinks
an image to its card, roughly 500-600 px wide, and a PNG file is read at 1:1. So a
figure is ``WIDTH`` inches at ``DPI`` (560 px): a card shows it (nearly) unscaled and
both places show the same pixels. Its smallest text is ``TEXT_PT`` (15 px, digits about
11 px high), titles are ``TITLE_PT``; more content makes a figure taller, never wider.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from trainlab.tensorboard import add_png

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

DPI = 100
WIDTH_PX = 560  # about a TensorBoard image card: shown unscaled, so as readable as the file
WIDTH = WIDTH_PX / DPI  # inches
TEXT_PT = 11  # the smallest text: 15.3 px at DPI, still >= 13 px on a 500 px card
TITLE_PT = 13

# The sizes are pinned, not left to a user's matplotlibrc: they make the figures readable.
# Unhinted glyphs: a tenth cheaper to lay out and draw, and at 100 dpi no less legible.
RENDER_STYLE: dict[str, Any] = {
    "text.hinting": "none",
    "font.size": TEXT_PT,
    "axes.titlesize": TITLE_PT,
    "axes.labelsize": TEXT_PT,
    "xtick.labelsize": TEXT_PT,
    "ytick.labelsize": TEXT_PT,
    "legend.fontsize": TEXT_PT,
    "legend.title_fontsize": TEXT_PT,
    "figure.titlesize": TITLE_PT,
}

# Tick ladders for a log axis, sparsest first (see ``log_scale``).
LOG_LADDERS: tuple[tuple[float, ...], ...] = (
    (1.0,),
    (1.0, 2.0, 5.0),
    (1.0, 2.0, 3.0, 5.0),
    (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
    tuple(float(s) for s in range(1, 10)),
)
# Two tick labels closer than this (centre to centre) would touch.
MIN_TICK_GAP_PX = 1.5 * TEXT_PT * DPI / 72

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def style() -> Iterator[None]:
    """The fonts of ``RENDER_STYLE``, for drawing code that creates texts (and ticks)."""
    import matplotlib

    rc: Any = RENDER_STYLE  # matplotlib types the keys as literals
    with matplotlib.rc_context(rc):
        yield


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a figure-drawing function under ``style()``: its texts get the designed sizes."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return draw(*args, **kwargs)

    return wrapper


def points_to_px(points: float) -> float:
    """A font size in pixels of the rendered figure."""
    return points * DPI / 72


def new_figure(
    width: float,
    height: float,
    margins: tuple[float, float, float, float] = (0.85, 0.25, 0.6, 0.45),
    wspace: float = 0.3,
    hspace: float = 0.2,
) -> Figure:
    """A figure on its own Agg canvas (no pyplot: no global state, no GUI backend).

    ``margins`` (left, right, bottom, top) are in inches and fixed: an automatic layout
    engine measures every text box and would double the cost of drawing. ``wspace`` and
    ``hspace`` are fractions of the mean panel width and height, as in matplotlib.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    left, right, bottom, top = margins
    figure.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
        hspace=hspace,
    )
    return figure


def set_title(ax: Any, text: str, **kwargs: Any) -> None:
    """A title at a fixed height: placing it automatically measures every tick label."""
    ax.set_title(text, y=1.0, **kwargs)


def figure_title(figure: Figure, text: str, top: float = 0.1, **kwargs: Any) -> None:
    """A title centred on the figure, ``top`` inches below its edge (room for long titles)."""
    height = figure.get_figheight()
    figure.text(0.5, 1 - top / height, text, ha="center", va="top", fontsize=TITLE_PT, **kwargs)


def integer_ticks(axis: Axis) -> None:
    """Whole-number ticks only (epochs, steps, trials: there is no epoch 1.5).

    ``min_n_ticks=1``: a single epoch gets its one tick instead of fractional ones.
    """
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))


def log_scale(ax: Axes) -> bool:
    """Put the y axis on a log scale with at least two labelled ticks; False if it stays linear.

    Matplotlib labels only the powers of ten, so a loss within one decade shows one label
    or none. Of ``LOG_LADDERS``, the sparsest whose labels do not touch and that puts
    three ticks in view wins, else the one with the most (at least two); a range too
    narrow for that looks the same on a linear axis, which is kept. Minor ticks stay off
    (a third of the drawing) and labels are plain numbers ("0.2"; mathtext's "10^-1" is
    parsed at every draw).
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    figure: Any = ax.get_figure()
    height_px = ax.get_position().height * figure.get_figheight() * figure.dpi
    px_per_decade = height_px / np.log10(high / low)
    chosen: tuple[LogLocator, int] | None = None
    for subs in LOG_LADDERS:
        locator = LogLocator(base=10, subs=subs)
        ticks = np.log10([t for t in locator.tick_values(low, high) if low <= t <= high])
        if len(ticks) < 2 or np.diff(np.sort(ticks)).min() * px_per_decade < MIN_TICK_GAP_PX:
            continue
        if chosen is None or len(ticks) > chosen[1]:
            chosen = (locator, len(ticks))
        if len(ticks) >= 3:
            break
    if chosen is None:
        ax.set_yscale("linear")
        return False
    ax.yaxis.set_major_locator(chosen[0])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: plain_number(value)))
    return True


def plain_number(value: float) -> str:
    """``0.2``, ``1e-5``, ``1e13``: short labels without mathtext."""
    return f"{value:g}".replace("e+", "e").replace("e-0", "e-").replace("e0", "e")


def render(figure: Figure) -> np.ndarray:
    """The figure's pixels, (H, W, 3) uint8."""
    canvas: Any = figure.canvas  # Agg's: it has buffer_rgba
    with style():
        canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def publish(
    figure: Figure, name: str, directory: Path, summaries: Any | None = None, step: int = 0
) -> Path:
    """Write ``<directory>/<name>.png`` and, given a ``FileWriter``, the image ``figures/<name>``."""
    from PIL import Image

    pixels = render(figure)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    Image.fromarray(pixels).save(path, compress_level=3, dpi=(DPI, DPI))
    if summaries is not None:
        add_png(summaries, f"figures/{name}", path.read_bytes(), pixels.shape, step)
    return path
