"""Classification figures: the normalised confusion matrix and the misclassified samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from trainlab.figures.canvas import (
    DPI,
    TEXT_PT,
    WIDTH,
    WIDTH_PX,
    figure_title,
    new_figure,
    points_to_px,
    styled,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The confusion matrix, in inches: the matrix is a square of MATRIX_SIDE whatever the
# number of classes, with the colour bar and its label to its right.
MATRIX_SIDE = 3.8
MATRIX_MARGINS = (0.75, 0.6, 0.55)  # left (tick labels, "true"), bottom, top (the title)
COLORBAR_GAP, COLORBAR_WIDTH = 0.15, 0.18
# Below this many pixels a cell cannot hold "100" at TEXT_PT: such matrices show colours only.
MIN_CELL_PX = 2.4 * points_to_px(TEXT_PT)


@styled
def confusion_heatmap(matrix: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Row-normalised confusion matrix in percent; the diagonal is left out of the colour scale.

    The correct predictions dwarf the errors, so with the diagonal in the scale every
    error would look equally pale; masked (grey), the errors carry the colours. Percent
    ("97") instead of fractions ("0.97"): two digits fit a cell at a readable size.
    """
    n = len(class_names)
    left, bottom, top = MATRIX_MARGINS
    height = bottom + MATRIX_SIDE + top
    figure = new_figure(WIDTH, height)
    ax = figure.add_axes((left / WIDTH, bottom / height, MATRIX_SIDE / WIDTH, MATRIX_SIDE / height))
    bar_left = left + MATRIX_SIDE + COLORBAR_GAP
    bar_ax = figure.add_axes(
        (bar_left / WIDTH, bottom / height, COLORBAR_WIDTH / WIDTH, MATRIX_SIDE / height)
    )
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter

    errors = np.ma.masked_array(matrix, mask=np.eye(n, dtype=bool))
    top_error = max(float(errors.max() or 0), 1e-9)
    reds_grey_diagonal = colormaps["Reds"].with_extremes(bad="lightgrey")  # masked: grey
    image = ax.imshow(errors, cmap=reds_grey_diagonal, vmin=0, vmax=top_error)
    # Three fixed ticks: the colour bar's automatic locator costs a quarter of the drawing.
    figure.colorbar(
        image,
        cax=bar_ax,
        ticks=[0, top_error / 2, top_error],
        format=FuncFormatter(lambda value, _: f"{100 * value:.2g}"),
        label="% of the true class (errors)",
    )
    if MATRIX_SIDE * DPI / n >= MIN_CELL_PX:
        dark_above = 0.6 * top_error
        for (row, col), value in np.ndenumerate(matrix):
            if round(100 * value) >= 1 or row == col:
                color = "white" if row != col and value > dark_above else "black"
                ax.text(col, row, f"{100 * value:.0f}", ha="center", va="center", color=color)
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="predicted",
        ylabel="true",
    )
    figure_title(figure, "confusion matrix (test), % of each true class")
    return figure


def mosaic(
    images: np.ndarray, columns: int, pitch: int, band: int, scale: tuple[int, int]
) -> np.ndarray:
    """Tile (N, H, W) images, each magnified ``scale`` (rows, columns) times, into one array.

    Each tile takes ``pitch`` columns and has a ``band`` of rows above it for its label;
    NaN (drawn blank) elsewhere. Whole-pixel magnification here, and the array shown 1:1,
    keep every sample pixel the same size (a resampled one would be 7 or 8 px).
    """
    count, height, width = images.shape
    tile_h, tile_w = height * scale[0], width * scale[1]
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (tile_h + band), columns * pitch), np.nan)
    for i, image in enumerate(images):
        top = (i // columns) * (tile_h + band) + band
        left = (i % columns) * pitch + (pitch - tile_w) // 2
        canvas[top : top + tile_h, left : left + tile_w] = np.kron(image, np.ones(scale))
    return canvas


def _tile_scale(height: int, width: int, pitch: int, strip: bool) -> tuple[int, int]:
    """Whole-pixel magnification (rows, columns): a tile about 3/4 of ``pitch`` wide and at
    most 72 px high; a strip (a sample without an image shape) at least 24 px high."""
    scale = max(1, min(math.floor(0.75 * pitch / width), 72 // height))
    return (max(scale, math.ceil(24 / height)) if strip else scale), scale


@styled
def misclassified_grid(
    images: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    total_errors: int,
    total: int,
) -> Figure:
    """The given mistakes (most confident first) as one tiled image, labelled true -> predicted.

    One ``imshow`` of a mosaic instead of one axes per sample keeps the figure cheap. The
    mosaic is laid out in the figure's own pixels (1 array pixel = 1 figure pixel), so the
    labels' band and the tiles' spacing are sized for the labels' font, whatever the
    images' size: six samples a row at ``WIDTH``, two for strips.
    """
    count = len(images)
    title = f"misclassified test samples: {total_errors} of {total}"
    if count == 0:
        figure = new_figure(WIDTH, 0.6, margins=(0.1, 0.1, 0.1, 0.1))
        figure_title(figure, title, top=0.15)
        return figure
    height, width = images.shape[1:]
    strip = width > 3 * height
    columns = min(count, 2 if strip else 6)
    side_px = 10
    pitch = (WIDTH_PX - 2 * side_px) // columns
    scale = _tile_scale(height, width, pitch, strip)
    pitch = max(pitch, width * scale[1] + 4)  # a strip wider than the figure widens it
    band = math.ceil(2.1 * points_to_px(TEXT_PT))
    canvas = mosaic(images, columns, pitch, band, scale)
    title_h, bottom = 0.75, 0.1  # inches
    plot_w, plot_h = canvas.shape[1] / DPI, canvas.shape[0] / DPI
    width_in = max(WIDTH, plot_w + 2 * side_px / DPI)
    side = (width_in - plot_w) / 2
    figure = new_figure(width_in, plot_h + title_h + bottom, margins=(side, side, bottom, title_h))
    ax = figure.subplots()
    ax.imshow(canvas, cmap="gray_r", interpolation="nearest")
    tile_h, tile_w = height * scale[0], width * scale[1]
    for i in range(count):
        top = (i // columns) * (tile_h + band) + band
        centre = (i % columns) * pitch + (pitch - tile_w) // 2 + tile_w / 2 - 0.5
        label = f"{true[i]}\u2192{predicted[i]} {confidence[i]:.0%}"
        ax.text(centre, top - 4, label, ha="center", va="bottom", color="darkred")
    ax.set_axis_off()
    figure_title(figure, title)
    figure.text(
        0.5,
        1 - 0.4 / figure.get_figheight(),
        "true\u2192predicted confidence, most confident first",
        ha="center",
        va="top",
    )
    return figure
