"""Notebook 001 (Keras): one neuron learning y = 3x, a 2-3-1 network learning addition, and
California housing 8-16-1 unscaled and 8-16-12-1 MinMax-scaled with a ReLU output."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab.lessons.reference import common
from trainlab.lessons.reference.common import Array, Outcome, lesson

UNSCALED_REPORTS = "test RMSE (the notebook shows only the training loss)"


@lesson("001", "Task 1, one linear neuron", "test/rmse", "RMSE on the 7 points it trains on", 100)
def multiply_by_3(seed: int, epochs: int, count: int | None) -> Outcome:
    """Task 1: one linear neuron, 'sgd', MSE, 100 epochs on the 7 points."""
    keras = common.seeded_keras(seed)
    x = np.array([[1], [3], [2], [10], [4], [7], [8]], dtype=np.float32)
    y = 3 * x
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="linear")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=epochs, verbose=0)
    prediction = model.predict(x, verbose=0)
    new = model.predict(np.array([[5.0], [-9.0]], dtype=np.float32), verbose=0).reshape(-1)
    extra = {"mse": common.mse(prediction, y), "predict_5": float(new[0]), "predict_-9": float(new[1])}
    return Outcome(math.sqrt(extra["mse"]), common.history_epochs(history), extra)


@lesson("001", "Task 2, 2-3-1 linear", "test/rmse", "RMSE on the 50 pairs it trains on", 200)
def addition(seed: int, epochs: int, count: int | None) -> Outcome:
    """Task 2: 50 unseeded pairs 1-9, MinMax-scaled, Dense(3) + Dense(1) linear, 200 epochs."""
    from sklearn.preprocessing import MinMaxScaler

    keras = common.seeded_keras(seed)  # seeds NumPy's global generator, which the notebook draws from
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
    extra = {
        "mse": common.mse(prediction, y),
        "predict_4+2": float(new[0]),
        "predict_6+2": float(new[1]),
    }
    return Outcome(math.sqrt(extra["mse"]), common.history_epochs(history), extra)


def _housing_split(count: int | None) -> tuple[Array, Array, Array, Array]:
    """Task 3's one split: 80/20, ``random_state=0``."""
    from sklearn.model_selection import train_test_split

    data, target = common.load_housing()
    x_train, x_test, y_train, y_test = train_test_split(data, target, test_size=0.2, random_state=0)
    x_train, y_train = common.limit(count, x_train, y_train)
    return x_train, x_test, y_train, y_test


def _fit_relu_net(
    seed: int, hidden: tuple[int, ...], x_train: Array, y_train: Array, x_test: Array, epochs: int
) -> tuple[Any, Array]:
    """Task 3's network: 8 inputs, ReLU hidden layers and a ReLU output, 'sgd' on the MSE;
    the ``fit`` history and the test predictions."""
    keras = common.seeded_keras(seed)
    layers = [keras.layers.Dense(width, activation="relu") for width in (*hidden, 1)]
    model = keras.Sequential([keras.Input((8,)), *layers])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x_train, y_train, epochs=epochs, verbose=0)
    return history, model.predict(x_test, verbose=0)


@lesson("001", "Task 3, 8-16-1 unscaled", "test/rmse", UNSCALED_REPORTS, 10)
def housing_unscaled(seed: int, epochs: int, count: int | None) -> Outcome:
    """Task 3: 8-16-1 ReLU (ReLU output too) on the raw features, 'sgd', 10 epochs.

    The notebook shows only the training loss here; the test RMSE is of the same model.
    """
    x_train, x_test, y_train, y_test = _housing_split(count)
    history, prediction = _fit_relu_net(seed, (16,), x_train, y_train, x_test, epochs)
    extra = {
        "train_loss": float(history.history["loss"][-1]),
        "mse": common.mse(prediction, y_test),
        "mae": common.mae(prediction, y_test),
    }
    return Outcome(math.sqrt(extra["mse"]), common.history_epochs(history), extra)


@lesson("001", "Task 3, 8-16-12-1 MinMax", "test/mae", "mean_absolute_error(preds, y_test)", 20)
def housing_minmax(seed: int, epochs: int, count: int | None) -> Outcome:
    """Task 3: 8-16-12-1 ReLU on MinMax-scaled features, 'sgd', 20 epochs; test MAE."""
    from sklearn.preprocessing import MinMaxScaler

    x_train, x_test, y_train, y_test = _housing_split(count)
    mms = MinMaxScaler()
    x_train_n, x_test_n = mms.fit_transform(x_train), mms.transform(x_test)
    history, prediction = _fit_relu_net(seed, (16, 12), x_train_n, y_train, x_test_n, epochs)
    error = common.mse(prediction, y_test)
    extra = {"mse": error, "rmse": math.sqrt(error)}
    return Outcome(common.mae(prediction, y_test), common.history_epochs(history), extra)
