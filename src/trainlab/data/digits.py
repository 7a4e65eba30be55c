"""scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.datasets import load_digits

from trainlab.data.base import DataSpec, Splits, TensorDataModule
from trainlab.data.layouts import FRACTION_OPTIONS, SPLITS
from trainlab.data.scaling import apply_scaler, fit_scaler
from trainlab.data.splitting import three_way_split

PixelScale = Literal["unit", "standard", "none"]
MAX_PIXEL = 16.0


class DigitsDataModule(TensorDataModule):
    """Stratified train/val/test split of ``load_digits``; 64 features, 10 classes."""

    split_options: ClassVar[dict[str, str]] = dict(zip(SPLITS, FRACTION_OPTIONS, strict=True))

    def __init__(
        self,
        val_fraction: float = 0.15,
        test_fraction: float = 0.2,
        split_seed: int = 42,
        pixel_scale: PixelScale = "unit",
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.split_seed, self.pixel_scale = split_seed, pixel_scale
        self._scaler = None

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        x = np.asarray(inputs, dtype=np.float32).reshape(-1, 64)
        if self.pixel_scale == "unit":
            x = x / MAX_PIXEL
        elif self.pixel_scale == "standard":
            x = apply_scaler(self._scaler, x)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def load(self) -> tuple[Splits, DataSpec]:
        x, y = load_digits(return_X_y=True)
        train, val, test = three_way_split(
            len(y), self.val_fraction, self.test_fraction, self.split_seed, stratify=y
        )
        if self.pixel_scale == "standard":
            self._scaler = fit_scaler("standard", x[train])
        labels = torch.from_numpy(y.astype(np.int64))
        splits = Splits(*((self.preprocess(x[idx]), labels[idx]) for idx in (train, val, test)))
        return splits, DataSpec((64,), 10, "multiclass", image_shape=(8, 8))
