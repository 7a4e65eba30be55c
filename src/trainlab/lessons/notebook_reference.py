"""The classroom notebooks' own code, cell by cell, to measure where a lesson should land.

Each lesson of ``conf/experiment/`` comes from a cell of a notebook in the course
(``000``-``003`` in Keras, ``004`` in PyTorch). This module redoes those cells the way
the notebooks do them -- plain ``keras`` ``model.fit`` (Keras 3 on its torch backend
stands in for ``tf.keras``) or the notebook's own PyTorch loop, its own split, scaling,
layers, library defaults, batch size and epochs -- so that trainlab's numbers can be
checked against the notebook's and not against a summary of it. It deliberately imports
nothing from trainlab: a shared bug would otherwise hide on both sides.

    python -m trainlab.lessons.notebook_reference --lesson digits_dropout --seeds 0 1 2

Where a notebook fixes a seed for its split, the split keeps it; the seed of each run
drives the weight initialisation and the shuffling (and, for ``addition``, which draws
its 50 pairs unseeded, the pairs too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if "keras" not in sys.modules:  # Keras reads its backend once, when first imported
    os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, SubsetRandomSampler

Array = np.ndarray[Any, Any]
DIGITS_SPLIT_SEED = 20231110  # 004: train_test_split(..., random_state=20231110, stratify=y)


@dataclass(frozen=True)
class Lesson:
    """A trainlab lesson, the notebook cell it reproduces and the number that cell reports."""

    name: str
    notebook: str
    cell: str
    metric: str  # the trainlab metric it compares with: test/acc, test/rmse, test/mae
    reports: str  # what the notebook's number is, in words
    epochs: int
    run: Callable[[int, int, int | None], Outcome]


@dataclass
class Outcome:
    """One run of a cell: the compared number, other numbers the cell shows, epochs trained."""

    value: float
    epochs: int
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    """One seed of one lesson, as printed and as written by ``--json``."""

    lesson: str
    seed: int
    metric: str
    value: float
    seconds: float
    epochs: int
    extra: dict[str, float]


# ---------------------------------------------------------------- data, as the notebooks get it


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

    The same derivation as scikit-learn's (row order kept), so ``train_test_split`` with
    the notebook's ``random_state`` gives the notebook's split.
    """
    raw = np.loadtxt(data_dir() / "california_housing" / "cal_housing.data", delimiter=",")
    lon, lat, age, rooms, bedrooms, population, households, income, value = raw.T
    data = np.column_stack(
        [
            income,
            age,
            rooms / households,
            bedrooms / households,
            population,
            population / households,
            lat,
            lon,
        ]
    )
    return data, value / 100_000.0


@cache
def load_digits() -> tuple[Array, Array]:
    """``sklearn.datasets.load_digits()``'s data (pixels 0-16) and target."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return digits.data, digits.target


def resize_bilinear(images: Array, size: int) -> Array:
    """``tf.image.resize(images[..., None], (size, size))[..., 0]``: bilinear, half-pixel
    centres, no antialiasing (TensorFlow 2's default), float32 like TensorFlow returns."""

    def taps(length: int) -> tuple[Array, Array, Array]:
        position = (np.arange(size) + 0.5) * (length / size) - 0.5
        low = np.floor(position).astype(np.int64)
        frac = position - low
        return np.clip(low, 0, length - 1), np.clip(low + 1, 0, length - 1), frac

    rows_lo, rows_hi, row_frac = taps(images.shape[1])
    cols_lo, cols_hi, col_frac = taps(images.shape[2])
    top = images[:, rows_lo, :] * (1 - row_frac)[None, :, None]
    top = top + images[:, rows_hi, :] * row_frac[None, :, None]
    out = top[:, :, cols_lo] * (1 - col_frac) + top[:, :, cols_hi] * col_frac
    return np.asarray(out, dtype=np.float32)


def _limit(limit: int | None, *arrays: Array) -> list[Array]:
    """The first ``limit`` training samples, for a quick check; all of them when None."""
    return [a if limit is None else a[:limit] for a in arrays]


# ---------------------------------------------------------------- Keras cells (000, 001, 003)


def _keras(seed: int) -> Any:
    """Keras, with every generator it uses (Python, NumPy, torch) seeded for this run."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras


def _mse(prediction: Array, target: Array) -> float:
    return float(np.mean((np.asarray(prediction, np.float64).reshape(-1) - target.reshape(-1)) ** 2))


def _mae(prediction: Array, target: Array) -> float:
    diff = np.asarray(prediction, np.float64).reshape(-1) - target.reshape(-1)
    return float(np.mean(np.abs(diff)))


def _history_epochs(history: Any) -> int:
    return len(history.history.get("loss", []))


def mnist_binary_6x6(seed: int, epochs: int, limit: int | None) -> Outcome:
    """000: MNIST 0 vs 1 at 6x6, Dense(2, sigmoid), the ``fit`` cell from fresh weights.

    The two full-batch GradientTape steps the notebook takes before it are their own
    lesson (``trainlab.lessons.manual_steps``), as ``experiment=mnist_binary_6x6`` is the
    ``fit`` alone: the table compares like with like.
    """
    keras = _keras(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    keep = np.where((y_train == 0) | (y_train == 1))
    x_train, y_train = x_train[keep], y_train[keep]
    keep = np.where((y_test == 0) | (y_test == 1))
    x_test, y_test = x_test[keep], y_test[keep]
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train, y_train = _limit(limit, x_train, y_train)
    y_train_cat = keras.utils.to_categorical(y_train)
    y_test_cat = keras.utils.to_categorical(y_test, num_classes=2)
    x_train_small, x_test_small = resize_bilinear(x_train, 6), resize_bilinear(x_test, 6)

    model = keras.Sequential(
        [keras.Input((6, 6)), keras.layers.Flatten(), keras.layers.Dense(2, activation="sigmoid")]
    )
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    bce = keras.losses.binary_crossentropy
    model.compile(optimizer=optimizer, loss=bce, metrics=["accuracy"])

    def accuracy(x: Array, y: Array) -> float:
        return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))

    extra = {"train_acc_before": accuracy(x_train_small, y_train)}
    history = model.fit(
        x_train_small,
        y_train_cat,
        validation_data=(x_test_small, y_test_cat),
        epochs=epochs,
        verbose=0,
    )
    extra["keras_val_accuracy"] = float(history.history["val_accuracy"][-1])  # binary accuracy
    return Outcome(accuracy(x_test_small, y_test), _history_epochs(history), extra)


def multiply_by_3(seed: int, epochs: int, limit: int | None) -> Outcome:
    """001 task 1: one linear neuron, 'sgd', MSE, 100 epochs on the 7 points."""
    keras = _keras(seed)
    x = np.array([[1], [3], [2], [10], [4], [7], [8]], dtype=np.float32)
    y = 3 * x
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="linear")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=epochs, verbose=0)
    prediction = model.predict(x, verbose=0)
    new = model.predict(np.array([[5.0], [-9.0]], dtype=np.float32), verbose=0).reshape(-1)
    extra = {"mse": _mse(prediction, y), "predict_5": float(new[0]), "predict_-9": float(new[1])}
    return Outcome(math.sqrt(extra["mse"]), _history_epochs(history), extra)


def addition(seed: int, epochs: int, limit: int | None) -> Outcome:
    """001 task 2: 50 unseeded pairs 1-9, MinMax-scaled, Dense(3) + Dense(1) linear, 200 epochs."""
    from sklearn.preprocessing import MinMaxScaler

    keras = _keras(seed)  # seeds NumPy's global generator, which the notebook draws from
    x1 = np.random.randint(1, 10, size=50)
    x2 = np.random.randint(1, 10, size=50)
    x = np.vstack([x1, x2]).T
    y = (x1 + x2)[None].T.astype(np.float32)
    mms = MinMaxScaler()
    x_norm = mms.fit_transform(x)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(3, activation="linear"),
            keras.layers.Dense(1, activation="linear"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x_norm, y, epochs=epochs, verbose=0)
    prediction = model.predict(x_norm, verbose=0)
    new = model.predict(mms.transform([[4, 2], [6, 2]]), verbose=0).reshape(-1)
    extra = {"mse": _mse(prediction, y), "predict_4+2": float(new[0]), "predict_6+2": float(new[1])}
    return Outcome(math.sqrt(extra["mse"]), _history_epochs(history), extra)


def _housing_001(limit: int | None) -> tuple[Array, Array, Array, Array]:
    from sklearn.model_selection import train_test_split

    data, target = load_housing()
    x_train, x_test, y_train, y_test = train_test_split(data, target, test_size=0.2, random_state=0)
    x_train, y_train = _limit(limit, x_train, y_train)
    return x_train, x_test, y_train, y_test


def housing_unscaled(seed: int, epochs: int, limit: int | None) -> Outcome:
    """001 task 3: 8-16-1 ReLU (ReLU output too) on the raw features, 'sgd', 10 epochs.

    The notebook shows only the training loss here; the test RMSE is of the same model.
    """
    keras = _keras(seed)
    x_train, x_test, y_train, y_test = _housing_001(limit)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="relu"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x_train, y_train, epochs=epochs, verbose=0)
    prediction = model.predict(x_test, verbose=0)
    extra = {
        "train_loss": float(history.history["loss"][-1]),
        "mse": _mse(prediction, y_test),
        "mae": _mae(prediction, y_test),
    }
    return Outcome(math.sqrt(extra["mse"]), _history_epochs(history), extra)


def housing_minmax(seed: int, epochs: int, limit: int | None) -> Outcome:
    """001 task 3: 8-16-12-1 ReLU on MinMax-scaled features, 'sgd', 20 epochs; test MAE."""
    from sklearn.preprocessing import MinMaxScaler

    keras = _keras(seed)
    x_train, x_test, y_train, y_test = _housing_001(limit)
    mms = MinMaxScaler()
    x_train_n, x_test_n = mms.fit_transform(x_train), mms.transform(x_test)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(12, activation="relu"),
            keras.layers.Dense(1, activation="relu"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x_train_n, y_train, epochs=epochs, verbose=0)
    prediction = model.predict(x_test_n, verbose=0)
    mse = _mse(prediction, y_test)
    extra = {"mse": mse, "rmse": math.sqrt(mse)}
    return Outcome(_mae(prediction, y_test), _history_epochs(history), extra)


def housing_earlystop(seed: int, epochs: int, limit: int | None) -> Outcome:
    """003 example 2: two default splits (random_state 42), StandardScaler, Dense(30, relu) +
    Dense(1), SGD 1e-3, up to 50 epochs, EarlyStopping(patience=3, restore_best_weights)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    keras = _keras(seed)
    data, target = load_housing()
    x_train_full, x_test, y_train_full, y_test = train_test_split(data, target, random_state=42)
    x_train, x_valid, y_train, y_valid = train_test_split(x_train_full, y_train_full, random_state=42)
    x_train, y_train = _limit(limit, x_train, y_train)
    scaler = StandardScaler()
    x_train = scaler.fit_transform(x_train)
    x_valid, x_test = scaler.transform(x_valid), scaler.transform(x_test)
    model = keras.Sequential(
        [
            keras.Input(x_train.shape[1:]),
            keras.layers.Dense(30, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(learning_rate=1e-3))
    # The notebook's TensorBoard callback only logs; it does not change the numbers.
    earlystop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        validation_data=(x_valid, y_valid),
        callbacks=[earlystop],
        verbose=0,
    )
    mse_test = float(model.evaluate(x_test, y_test, verbose=0))
    extra = {"mse": mse_test, "best_epoch": float(int(np.argmin(history.history["val_loss"])) + 1)}
    return Outcome(math.sqrt(mse_test), _history_epochs(history), extra)


def mnist_mlp256(seed: int, epochs: int, limit: int | None) -> Outcome:
    """003 example 1: Flatten, 2 x Dense(256, relu), softmax; SGD 0.2, batch 64, 10 epochs.

    The notebook never divides ``X_test`` by 255 before its confusion matrix; the
    compared number is the accuracy on the scaled test images, the notebook's literal one
    is in ``extra`` as ``test_acc_unscaled_inputs``.
    """
    keras = _keras(seed)
    (x_train_full, y_train_full), (x_test, y_test) = load_mnist()
    x_train, y_train = x_train_full[:50_000] / 255.0, y_train_full[:50_000]
    x_valid, y_valid = x_train_full[50_000:] / 255.0, y_train_full[50_000:]
    x_train, y_train = _limit(limit, x_train, y_train)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.SGD(learning_rate=2e-1),
        metrics=["accuracy"],
    )
    validation = (x_valid, y_valid) if len(x_valid) else None
    history = model.fit(
        x_train, y_train, validation_data=validation, epochs=epochs, batch_size=64, verbose=0
    )

    def accuracy(x: Array) -> float:
        return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y_test))

    extra = {"test_acc_unscaled_inputs": accuracy(x_test)}
    if validation is not None:
        extra["val_accuracy"] = float(history.history["val_accuracy"][-1])
    return Outcome(accuracy(x_test / 255.0), _history_epochs(history), extra)


# ---------------------------------------------------------------- PyTorch cells (004)


class MLPDigits(nn.Module):
    """004's ``MLPDigits`` / ``MLPDigits_tanh`` / ``MLPDigits_dropout``: 64-h-h-10, log-softmax."""

    def __init__(self, hidden: int, activation: str, dropout: float | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8 * 8, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 10)
        self.act = F.sigmoid if activation == "sigmoid" else F.tanh
        self.dropout = nn.Dropout(dropout) if dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 8 * 8)
        x = self.act(self.fc1(x))
        if self.dropout is not None:
            x = self.dropout(x)
        x = self.act(self.fc2(x))
        if self.dropout is not None:
            x = self.dropout(x)
        return F.log_softmax(self.fc3(x), dim=1)


def accuracy_fn(logps: torch.Tensor, labels: torch.Tensor) -> float:
    """004's accuracy: argmax of the probabilities against the labels."""
    pred_classes = torch.argmax(torch.exp(logps), dim=1)
    return float(torch.eq(pred_classes, labels).sum() / labels.shape[0])


def _digits_split(limit: int | None) -> tuple[Array, Array, Array, Array]:
    """004's split of ``load_digits()``: 70/30, ``random_state=20231110``, stratified."""
    from sklearn.model_selection import train_test_split

    x, y = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, random_state=DIGITS_SPLIT_SEED, stratify=y
    )
    x_train, y_train = _limit(limit, x_train, y_train)
    return x_train, x_val, y_train, y_val


def train_full_batch(
    hidden: int, activation: str, lr: float, seed: int, epochs: int, limit: int | None
) -> Outcome:
    """004's ``train()``: one SGD step per epoch on all training digits (pixels ``* 1.0/255``),
    the held-out 30 % evaluated after every step; the number is the last epoch's."""
    from sklearn.model_selection import train_test_split

    torch.manual_seed(seed)
    data, target = load_digits()
    x_tn = torch.tensor(data * 1.0 / 255, dtype=torch.float32)
    y_tn = torch.tensor(target)
    # The same indices as splitting the tensors themselves: only y and the length matter.
    train_idx, val_idx = train_test_split(
        np.arange(len(y_tn)), test_size=0.3, random_state=DIGITS_SPLIT_SEED, stratify=target
    )
    (train_idx,) = _limit(limit, train_idx)
    x_train, y_train = x_tn[train_idx], y_tn[train_idx]
    x_val, y_val = x_tn[val_idx], y_tn[val_idx]
    model = MLPDigits(hidden, activation)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    acc = valid_acc = math.nan
    for _ in range(epochs):
        model.train()
        y_logps = model(x_train)
        loss = criterion(y_logps, y_train)
        acc = accuracy_fn(y_logps, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.inference_mode():
            y_val_logps = model(x_val)
            valid_acc = accuracy_fn(y_val_logps, y_val)
    return Outcome(valid_acc, epochs, {"train_acc": acc})


def to_tensor(image: Array) -> torch.Tensor:
    """torchvision's ``transforms.ToTensor()`` on a uint8 HxWxC array: CxHxW floats / 255."""
    return torch.from_numpy(image.transpose((2, 0, 1))).contiguous().to(torch.float32).div(255)


class DatasetDigits(Dataset[tuple[torch.Tensor, Any]]):
    """004's ``DatasetDigits``: each digit as a uint8 8x8x1 image through ``ToTensor``."""

    def __init__(self, x: Array, y: Array) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        image = self.x[index].astype(np.uint8).reshape((8, 8, 1))
        return to_tensor(image), self.y[index]


def train_batches(
    model: nn.Module, lr: float, batch_size: int, epochs: int, limit: int | None
) -> Outcome:
    """004's ``train_batches()``: DataLoaders with a ``SubsetRandomSampler``, SGD momentum 0.9;
    the number is the last epoch's accuracy on the held-out 30 %."""
    x_train, x_val, y_train, y_val = _digits_split(limit)
    train_data, val_data = DatasetDigits(x_train, y_train), DatasetDigits(x_val, y_val)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    train_generator = DataLoader(
        train_data, batch_size=batch_size, sampler=SubsetRandomSampler(list(range(y_train.shape[0])))
    )
    valid_generator = DataLoader(
        val_data, batch_size=batch_size, sampler=SubsetRandomSampler(list(range(y_val.shape[0])))
    )
    train_acc = valid_acc = math.nan
    for _ in range(epochs):
        model.train()
        train_correct = valid_correct = 0.0
        for x_batch, y_batch in train_generator:
            y_logps = model(x_batch)
            loss = criterion(y_logps, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_correct += accuracy_fn(y_logps, y_batch) * y_batch.shape[0]
        train_acc = train_correct / len(train_data)
        model.eval()  # the notebook validates without no_grad
        for x_val_batch, y_val_batch in valid_generator:
            y_batch_logps = model(x_val_batch)
            valid_correct += accuracy_fn(y_batch_logps, y_val_batch) * y_val_batch.shape[0]
        valid_acc = valid_correct / len(val_data)
    return Outcome(valid_acc, epochs, {"train_acc": train_acc})


def digits_sigmoid(seed: int, epochs: int, limit: int | None) -> Outcome:
    """004: ``MLPDigits`` (52 sigmoid units), SGD lr 0.3 momentum 0.9, full batch, 5,000 epochs."""
    return train_full_batch(52, "sigmoid", 0.3, seed, epochs, limit)


def digits_tanh(seed: int, epochs: int, limit: int | None) -> Outcome:
    """004: ``MLPDigits_tanh`` (52 tanh units), SGD lr 0.05 momentum 0.9, full batch, 5,000 epochs."""
    return train_full_batch(52, "tanh", 0.05, seed, epochs, limit)


def digits_compact(seed: int, epochs: int, limit: int | None) -> Outcome:
    """004: the 12-unit sigmoid model, SGD lr 0.3 momentum 0.9, batches of 20, 800 epochs."""
    torch.manual_seed(seed)
    return train_batches(MLPDigits(12, "sigmoid"), 0.3, 20, epochs, limit)


def digits_dropout(seed: int, epochs: int, limit: int | None) -> Outcome:
    """004: ``MLPDigits_dropout`` (24 tanh, dropout 0.25), SGD lr 0.01 momentum 0.9, batch 20,
    800 epochs."""
    torch.manual_seed(seed)
    return train_batches(MLPDigits(24, "tanh", dropout=0.25), 0.01, 20, epochs, limit)


HELD_OUT_30 = "accuracy on the 30 % held out, last epoch"
LESSONS: dict[str, Lesson] = {
    lesson.name: lesson
    for lesson in (
        Lesson(
            "digits_dropout",
            "004",
            "MLPDigits_dropout, train_batches",
            "test/acc",
            HELD_OUT_30,
            800,
            digits_dropout,
        ),
        Lesson(
            "digits_sigmoid",
            "004",
            "MLPDigits lr 0.3, train(model, epochs=5000)",
            "test/acc",
            HELD_OUT_30,
            5000,
            digits_sigmoid,
        ),
        Lesson(
            "digits_tanh",
            "004",
            "MLPDigits_tanh, train(model, 5000)",
            "test/acc",
            HELD_OUT_30,
            5000,
            digits_tanh,
        ),
        Lesson(
            "digits_compact",
            "004",
            "12-unit model, train_batches",
            "test/acc",
            HELD_OUT_30,
            800,
            digits_compact,
        ),
        Lesson(
            "housing_earlystop",
            "003",
            "Przyklad 2",
            "test/rmse",
            "sqrt of model.evaluate(X_test) (MSE)",
            50,
            housing_earlystop,
        ),
        Lesson(
            "housing_unscaled",
            "001",
            "Task 3, 8-16-1 unscaled",
            "test/rmse",
            "test RMSE (the notebook shows only the training loss)",
            10,
            housing_unscaled,
        ),
        Lesson(
            "housing_minmax",
            "001",
            "Task 3, 8-16-12-1 MinMax",
            "test/mae",
            "mean_absolute_error(preds, y_test)",
            20,
            housing_minmax,
        ),
        Lesson(
            "mnist_binary_6x6",
            "000",
            "fit(epochs=1) (the GradientTape steps before it: manual_steps)",
            "test/acc",
            "test accuracy (argmax) after fit",
            1,
            mnist_binary_6x6,
        ),
        Lesson(
            "mnist_mlp256",
            "003",
            "Przyklad 1, build_model(256)",
            "test/acc",
            "test accuracy (argmax of predict)",
            10,
            mnist_mlp256,
        ),
        Lesson(
            "multiply_by_3",
            "001",
            "Task 1, one linear neuron",
            "test/rmse",
            "RMSE on the 7 points it trains on",
            100,
            multiply_by_3,
        ),
        Lesson(
            "addition",
            "001",
            "Task 2, 2-3-1 linear",
            "test/rmse",
            "RMSE on the 50 pairs it trains on",
            200,
            addition,
        ),
    )
}


@cache
def prepare(name: str, warm_up: bool = True) -> None:
    """Import the libraries, read the data files and warm the libraries up (one epoch on a
    few samples), once per process, outside the timed runs.

    The notebooks' ``%%time`` cells time the training, not the imports, the download or
    the first call's set-up; without this the first seed's time would carry them.
    """
    import sklearn.model_selection
    import sklearn.preprocessing  # noqa: F401

    if name.startswith("mnist"):
        load_mnist()
    elif name.startswith("housing"):
        load_housing()
    elif name.startswith("digits"):
        load_digits()
    if LESSONS[name].notebook != "004":
        import keras  # noqa: F401
    if warm_up:  # a quick check (--limit) does not time anything worth it
        LESSONS[name].run(0, 1, 64)


def run_lesson(name: str, seed: int, epochs: int | None = None, limit: int | None = None) -> Result:
    """One seed of one lesson's notebook cell, timed from the split to the reported number."""
    lesson = LESSONS[name]
    prepare(name, warm_up=limit is None)
    start = time.perf_counter()
    outcome = lesson.run(seed, epochs if epochs is not None else lesson.epochs, limit)
    seconds = time.perf_counter() - start
    return Result(name, seed, lesson.metric, outcome.value, seconds, outcome.epochs, outcome.extra)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one run), min and max of a lesson's runs."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return {"mean": statistics.fmean(finite), "std": std, "min": min(finite), "max": max(finite)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainlab.lessons.notebook_reference",
        description="Run the classroom notebooks' own code for trainlab's lessons; print each "
        "seed's number (as the notebook reports it) and its wall time.",
    )
    parser.add_argument(
        "--lesson",
        action="append",
        choices=sorted(LESSONS),
        metavar="NAME",
        help=f"a lesson (repeatable; default: all): {', '.join(LESSONS)}",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of the notebook's")
    parser.add_argument("--limit", type=int, help="only the first N training samples (quick checks)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    for option in ("epochs", "limit"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.lesson or list(LESSONS)
    results: list[Result] = []
    for name in names:
        lesson = LESSONS[name]
        if not args.json:
            print(f"{name}  (notebook {lesson.notebook}: {lesson.cell}; {lesson.reports})")
        for seed in args.seeds:
            result = run_lesson(name, seed, args.epochs, args.limit)
            results.append(result)
            if not args.json:
                print(
                    f"  seed {seed}: {lesson.metric} {result.value:.4f}  "
                    f"({result.epochs} epochs, {result.seconds:.1f} s)",
                    flush=True,
                )
        if not args.json and len(args.seeds) > 1:
            s = summarize([r.value for r in results if r.lesson == name])
            print(f"  mean {s['mean']:.4f}  std {s['std']:.4f}  min {s['min']:.4f}  max {s['max']:.4f}")
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
