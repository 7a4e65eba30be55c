"""Seeded train/val/test splits, and their sizes known before any data is read.

The splits are scikit-learn's ``train_test_split`` called as the lessons' notebooks call
it: the test part first (``test_fraction`` of all samples, ``random_state=split_seed``),
then the validation part from the rest with the same seed. A notebook that holds out
only a test part gives ``val_fraction=None``: there is no validation part, and
validation reports on the test part, as the notebook's own "validation" does.

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


def split_sizes(n: int, val_fraction: float | None, test_fraction: float) -> tuple[int, int, int]:
    """The (train, val, test) sizes ``three_way_split`` gives ``n`` samples.

    Without a validation fraction the validation split is the test split.
    """
    test = math.ceil(test_fraction * n)
    rest = n - test
    if val_fraction is None:
        return rest, test, test
    val = math.ceil(_val_of_rest(val_fraction, test_fraction) * rest)
    return rest - val, val, test


def three_way_split(
    n: int,
    val_fraction: float | None,
    test_fraction: float,
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted index arrays (train, val, test); stratified by ``stratify`` labels when given.

    ``val_fraction=None``: one split, as ``train_test_split(test_size=test_fraction)``;
    the validation indices are the test indices. Each part holds exactly the samples
    scikit-learn puts in it; the indices are sorted because every loader reorders the
    training samples per epoch anyway.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    indices = np.arange(n)
    try:
        rest, test = train_test_split(
            indices, test_size=test_fraction, random_state=seed, stratify=stratify
        )
        if val_fraction is None:
            train, val = rest, test
        else:
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
