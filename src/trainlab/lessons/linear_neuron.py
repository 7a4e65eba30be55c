"""The gradient-descent lesson's problem: one linear neuron, its MSE and its gradient.

Shared by the descents (``gradient_descent.py``) and their pictures
(``descent_figures.py``), which both depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Weights, paths and losses: float64 arrays.
Array = NDArray[np.float64]


@dataclass
class Problem:
    """The points (x, y) that y_hat = w1 * x + w0 is fitted to."""

    x: Array  # (N,)
    y: Array  # (N,)

    def loss(self, w1: Array | float, w0: Array | float) -> Array:
        """The MSE at (w1, w0); broadcasts over grids of weights."""
        w1, w0 = np.asarray(w1, dtype=np.float64), np.asarray(w0, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            errors = w1[..., None] * self.x + w0[..., None] - self.y
            return np.asarray(np.mean(errors**2, axis=-1), dtype=np.float64)

    def gradient(self, w1: float, w0: float) -> Array:
        """The lesson's analytic gradient (dL/dw1, dL/dw0)."""
        errors = w1 * self.x + w0 - self.y
        return np.array([2 * np.mean(errors * self.x), 2 * np.mean(errors)])
