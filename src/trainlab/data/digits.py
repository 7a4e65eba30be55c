"""scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.datasets import load_digits

from trainlab.data import layouts
from trainlab.data.base import DataSpec, FractionSplitDataModule, Splits
from trainlab.data.layouts import Declared
from trainlab.data.scaling import apply_scaler, fit_scaler

#: ``unit`` (/16: 0..1) | ``standard`` (fitted on train) | ``none`` (0..16) | a divisor,
#: e.g. 255 as the notebooks that treat the digits as 8-bit images do.
PixelScale = str | float
MAX_PIXEL = 16.0


def pixel_divisor(pixel_scale: PixelScale) -> float | None:
    """What the pixels are divided by (None: not divided)."""
    if pixel_scale == "unit":
        return MAX_PIXEL
    if isinstance(pixel_scale, int | float) and not isinstance(pixel_scale, bool):
        return float(pixel_scale)
    return None


class DigitsDataModule(FractionSplitDataModule):
    """Train/val/test split of ``load_digits`` (stratified by default); 64 features, 10 classes."""

    declared: ClassVar[Declared] = layouts.DIGITS

    def __init__(
        self,
        val_fraction: float | None = 0.15,
        test_fraction: float = 0.2,
        stratify: bool = True,
        pixel_scale: PixelScale = "unit",
        **split_and_loader: Any,
    ) -> None:
        super().__init__(val_fraction, test_fraction, **split_and_loader)
        self.stratify, self.pixel_scale = stratify, pixel_scale
        self._scaler = None

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        x = np.asarray(inputs, dtype=np.float64).reshape(-1, layouts.DIGITS_SIDE**2)
        divisor = pixel_divisor(self.pixel_scale)
        if divisor is not None:
            x = x / divisor
        elif self.pixel_scale == "standard":
            x = apply_scaler(self._scaler, x)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def load(self) -> tuple[Splits, DataSpec]:
        x, y = load_digits(return_X_y=True)
        train, val, test = self.split(len(y), stratify=y if self.stratify else None)
        if self.pixel_scale == "standard":
            self._scaler = fit_scaler("standard", x[train])
        labels = torch.from_numpy(y.astype(np.int64))
        splits = Splits(*((self.preprocess(x[idx]), labels[idx]) for idx in (train, val, test)))
        return splits, self.declared_spec()
