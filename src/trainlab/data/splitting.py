"""Seeded train/val/test splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def three_way_split(
    n: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test); stratified by ``stratify`` labels when given."""
    indices = np.arange(n)
    rest, test = train_test_split(indices, test_size=test_fraction, random_state=seed, stratify=stratify)
    val_of_rest = val_fraction / (1 - test_fraction)
    train, val = train_test_split(
        rest,
        test_size=val_of_rest,
        random_state=seed,
        stratify=None if stratify is None else stratify[rest],
    )
    return np.sort(train), np.sort(val), np.sort(test)
