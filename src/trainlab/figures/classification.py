"""Classification figures: the normalised confusion matrix and the misclassified samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from trainlab.figures.canvas import new_figure, set_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def confusion_heatmap(matrix: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Row-normalised confusion matrix, annotated; the diagonal is left out of the colour scale.

    The correct predictions dwarf the errors, so with the diagonal in the scale every
    error would look equally pale; masked (grey), the errors carry the colours.
    """
    n = len(class_names)
    side = max(2.0, 0.45 * n)  # the matrix, in inches
    figure = new_figure(side + 1.9, side + 1.0, margins=(0.6, 1.3, 0.6, 0.4))
    ax = figure.subplots()
    from matplotlib import colormaps

    errors = np.ma.masked_array(matrix, mask=np.eye(n, dtype=bool))
    top = max(float(errors.max() or 0), 1e-9)
    reds_grey_diagonal = colormaps["Reds"].with_extremes(bad="lightgrey")  # masked: grey
    image = ax.imshow(errors, cmap=reds_grey_diagonal, vmin=0, vmax=top)
    # Three fixed ticks: the colour bar's automatic locator costs a quarter of the drawing.
    figure.colorbar(
        image,
        ax=ax,
        ticks=[0, top / 2, top],
        format="%.2g",
        label="fraction of the true class (off-diagonal)",
    )
    dark_above = 0.6 * top
    for (row, col), value in np.ndenumerate(matrix):
        if value >= 0.005 or row == col:
            color = "white" if row != col and value > dark_above else "black"
            ax.text(
                col,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7 if n > 6 else 9,
                color=color,
            )
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="predicted",
        ylabel="true",
    )
    set_title(ax, "confusion matrix (test, rows sum to 1)")
    return figure


def mosaic(images: np.ndarray, columns: int, gap: int, band: int) -> np.ndarray:
    """Tile (N, H, W) images into one array: ``gap`` columns between tiles, a ``band`` of
    rows above each for its label; NaN (drawn blank) outside the tiles."""
    count, height, width = images.shape
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (height + band), columns * (width + gap)), np.nan)
    for i, image in enumerate(images):
        top, left = (i // columns) * (height + band) + band, (i % columns) * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def misclassified_grid(
    images: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    total_errors: int,
    total: int,
) -> Figure:
    """The given mistakes (most confident first) as one tiled image, labelled true -> predicted.

    One ``imshow`` of a mosaic instead of one axes per sample keeps the figure cheap.
    """
    count = len(images)
    title = f"misclassified test samples: {total_errors} of {total}"
    if count == 0:
        figure = new_figure(6, 1.0, margins=(0.1, 0.1, 0.1, 0.1))
        figure.text(0.5, 0.5, title, ha="center", va="center")
        return figure
    height, width = images.shape[1:]
    columns = min(count, 8 if width <= 3 * height else 2)
    gap, band = max(1, width // 4), max(2, height // 2)
    canvas = mosaic(images, columns, gap, band)
    inches_per_pixel = min(1.1 / max(height, width), 5.0 / width)
    plot_w, plot_h = canvas.shape[1] * inches_per_pixel, canvas.shape[0] * inches_per_pixel
    figure = new_figure(max(plot_w, 5.0) + 0.4, plot_h + 1.0, margins=(0.2, 0.2, 0.2, 0.75))
    ax = figure.subplots()
    ax.imshow(canvas, cmap="gray_r", interpolation="nearest")
    for i in range(count):
        top, left = (i // columns) * (height + band) + band, (i % columns) * (width + gap)
        label = f"{true[i]}\u2192{predicted[i]} ({confidence[i]:.2f})"
        ax.text(
            left + width / 2 - 0.5,
            top - 0.7,
            label,
            ha="center",
            va="bottom",
            fontsize=7,
            color="darkred",
        )
    ax.set_axis_off()
    set_title(ax, f"{title}\ntrue\u2192predicted (confidence), most confident first", fontsize=9)
    return figure
