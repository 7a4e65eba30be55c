"""The first lessons' tiny regression sets: y = 3x on 7 points, and adding two integers.

The lessons fit and judge the model on the same few points (there is nothing to hold
out), so the validation and test splits are the training points themselves.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike

from trainlab.data import layouts
from trainlab.data.base import DataSpec, Splits, TensorDataModule
from trainlab.data.layouts import SPLITS, Declared
from trainlab.data.scaling import Scaler, apply_scaler, fit_scaler


class PointsDataModule(TensorDataModule):
    """A handful of (x, y) points, x scaled by ``scaler`` fitted on them; each subclass
    has its declaration (``trainlab.data.layouts``)."""

    def __init__(self, scaler: Scaler = "none", **loader: Any) -> None:
        super().__init__(**loader)
        self.scaler_kind = scaler
        self._scaler = None

    @abstractmethod
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Raw inputs (N, features) and targets (N,)."""

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        x = np.asarray(inputs, dtype=np.float32)
        return torch.from_numpy(apply_scaler(self._scaler, x.reshape(len(x), -1)))

    def load(self) -> tuple[Splits, DataSpec]:
        x, y = self.points()
        self._scaler = fit_scaler(self.scaler_kind, x.astype(np.float32))
        pair = (self.preprocess(x), torch.from_numpy(y.astype(np.float32)).reshape(-1, 1))
        return Splits(pair, pair, pair), self.declared_spec()


class MultiplyDataModule(PointsDataModule):
    """``y = factor * x`` at the given ``inputs`` (the lesson: 3x at x = -3..3)."""

    declared: ClassVar[Declared] = layouts.MULTIPLY
    split_options: ClassVar[dict[str, str]] = dict.fromkeys(SPLITS, "data.inputs")

    def __init__(self, inputs: Sequence[float], factor: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inputs, self.factor = list(inputs), factor

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(self.inputs, dtype=np.float64).reshape(-1, 1)
        return x, self.factor * x[:, 0]


class AdditionDataModule(PointsDataModule):
    """``num_pairs`` seeded random integer pairs in [low, high] and their sums."""

    declared: ClassVar[Declared] = layouts.ADDITION
    split_options: ClassVar[dict[str, str]] = dict.fromkeys(SPLITS, "data.num_pairs")

    def __init__(self, num_pairs: int, low: int, high: int, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_pairs, self.low, self.high, self.seed = num_pairs, low, high, seed

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x = rng.integers(self.low, self.high + 1, size=(self.num_pairs, 2)).astype(np.float64)
        return x, x.sum(axis=1)
