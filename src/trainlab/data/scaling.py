"""Feature scaling fitted on the training split only (scikit-learn scalers)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

Scaler = Literal["minmax", "standard", "none"]


def fit_scaler(kind: Scaler, train: np.ndarray) -> TransformerMixin:
    """A scaler of ``kind`` fitted on ``train`` (the other splits are only transformed)."""
    scaler = {
        "minmax": MinMaxScaler,
        "standard": StandardScaler,
        "none": lambda: FunctionTransformer(None),
    }[kind]()
    return scaler.fit(train.reshape(len(train), -1))


def apply_scaler(scaler: TransformerMixin, x: np.ndarray) -> np.ndarray:
    shape = x.shape
    scaled: np.ndarray = scaler.transform(x.reshape(len(x), -1))
    return scaled.reshape(shape).astype(np.float32)
