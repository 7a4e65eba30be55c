"""What the notebook modules share: the lesson record, the data as the notebooks get it, Keras.

The data files are read the way ``mnist.load_data()`` and ``fetch_california_housing()``
return them, from ``$TRAINLAB_DATA_DIR`` instead of the internet.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if "keras" not in sys.modules:  # Keras reads its backend once, when first imported
    os.environ["KERAS_BACKEND"] = "torch"

import numpy as np

Array = np.ndarray[Any, Any]


@dataclass
class Outcome:
    """One run of a cell: the compared number, other numbers the cell shows, epochs trained."""

    value: float
    epochs: int
    extra: dict[str, float] = field(default_factory=dict)


Cell = Callable[[int, int, int | None], Outcome]  # (seed, epochs, first N samples or all)


@dataclass(frozen=True)
class Lesson:
    """A trainlab lesson, the notebook cell it reproduces and the number that cell reports."""

    name: str
    notebook: str
    cell: str
    metric: str  # the trainlab metric it compares with: test/acc, test/rmse, test/mae
    reports: str  # what the notebook's number is, in words
    epochs: int
    run: Cell


#: Every notebook cell with a number to compare, by lesson name, as the modules define them.
CELLS: dict[str, Lesson] = {}


def lesson(notebook: str, cell: str, metric: str, reports: str, epochs: int) -> Callable[[Cell], Cell]:
    """Record the decorated function as the cell of the lesson it is named after."""

    def record(run: Cell) -> Cell:
        CELLS[run.__name__] = Lesson(run.__name__, notebook, cell, metric, reports, epochs, run)
        return run

    return record


def data_dir() -> Path:
    """Where MNIST and housing files are: ``$TRAINLAB_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get("TRAINLAB_DATA_DIR") or "data")


def _read_idx(path: Path) -> Array:
    """An IDX file (gzipped or not) as a uint8 array, what ``mnist.load_data()`` returns."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@cache
def load_mnist() -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """``(X_train, y_train), (X_test, y_test)`` as ``keras.datasets.mnist.load_data()``."""
    root = data_dir() / "mnist"

    def read(name: str) -> Array:
        gz = root / f"{name}.gz"
        return _read_idx(gz if gz.is_file() else root / name)

    return (
        (read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")),
        (read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")),
    )


@cache
def load_housing() -> tuple[Array, Array]:
    """``fetch_california_housing()``'s data and target, derived from the StatLib file.

    The one piece shared with trainlab: its derivation is scikit-learn's (row order kept,
    checked against scikit-learn's own column means), so ``train_test_split`` with the
    notebook's ``random_state`` gives the notebook's split.
    """
    from trainlab.data.housing import features_from_statlib

    raw = np.loadtxt(data_dir() / "california_housing" / "cal_housing.data", delimiter=",")
    return features_from_statlib(raw)


def limit(count: int | None, *arrays: Array) -> list[Array]:
    """The first ``count`` training samples, for a quick check; all of them when None."""
    return [a if count is None else a[:count] for a in arrays]


def seeded_keras(seed: int) -> Any:
    """Keras, with every generator it uses (Python, NumPy, torch) seeded for this run."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras


def mse(prediction: Array, target: Array) -> float:
    return float(np.mean((np.asarray(prediction, np.float64).reshape(-1) - target.reshape(-1)) ** 2))


def mae(prediction: Array, target: Array) -> float:
    diff = np.asarray(prediction, np.float64).reshape(-1) - target.reshape(-1)
    return float(np.mean(np.abs(diff)))


def history_epochs(history: Any) -> int:
    """How many epochs a Keras ``fit`` trained (fewer than asked after an early stop)."""
    return len(history.history.get("loss", []))
