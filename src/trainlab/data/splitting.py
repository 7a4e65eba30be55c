"""Seeded train/val/test splits, and their sizes known before any data is read.

``split_sizes`` repeats scikit-learn's size arithmetic (``ceil`` for the held-out part),
so the pre-flight checks can refuse a fraction that leaves a split empty, or too small
to stratify, without importing scikit-learn or loading the data; ``three_way_split``
turns the same mistake into a ``DataError`` naming the options, for data whose size is
only known once it is read.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from trainlab.errors import DataError

if TYPE_CHECKING:
    import numpy as np


def _val_of_rest(val_fraction: float, test_fraction: float) -> float:
    """The validation fraction of what the test split leaves."""
    return val_fraction / (1 - test_fraction)


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """The (train, val, test) sizes ``three_way_split`` gives ``n`` samples."""
    test = math.ceil(test_fraction * n)
    rest = n - test
    val = math.ceil(_val_of_rest(val_fraction, test_fraction) * rest)
    return rest - val, val, test


def three_way_split(
    n: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test); stratified by ``stratify`` labels when given."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    indices = np.arange(n)
    try:
        rest, test = train_test_split(
            indices, test_size=test_fraction, random_state=seed, stratify=stratify
        )
        train, val = train_test_split(
            rest,
            test_size=_val_of_rest(val_fraction, test_fraction),
            random_state=seed,
            stratify=None if stratify is None else stratify[rest],
        )
    except ValueError as error:  # a split that would be empty, or smaller than the classes
        raise DataError(
            f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} cannot "
            f"split {n:,} samples: {str(error).splitlines()[0]}"
        ) from None
    return np.sort(train), np.sort(val), np.sort(test)
