"""Notebook 003 (Keras): MNIST 784-256-256-10, SGD 0.2, batch 64, 10 epochs; housing with
StandardScaler, Dense(30), SGD 1e-3 and EarlyStopping(patience 3, best weights)."""

from __future__ import annotations

import math

import numpy as np

from trainlab.lessons.reference import common
from trainlab.lessons.reference.common import Array, Outcome, lesson


@lesson("003", "Przyklad 2", "test/rmse", "sqrt of model.evaluate(X_test) (MSE)", 50)
def housing_earlystop(seed: int, epochs: int, count: int | None) -> Outcome:
    """Example 2: two default splits (random_state 42), StandardScaler, Dense(30, relu) +
    Dense(1), SGD 1e-3, up to 50 epochs, EarlyStopping(patience=3, restore_best_weights)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    keras = common.seeded_keras(seed)
    data, target = common.load_housing()
    x_train_full, x_test, y_train_full, y_test = train_test_split(data, target, random_state=42)
    x_train, x_valid, y_train, y_valid = train_test_split(x_train_full, y_train_full, random_state=42)
    x_train, y_train = common.limit(count, x_train, y_train)
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
    return Outcome(math.sqrt(mse_test), common.history_epochs(history), extra)


@lesson("003", "Przyklad 1, build_model(256)", "test/acc", "test accuracy (argmax of predict)", 10)
def mnist_mlp256(seed: int, epochs: int, count: int | None) -> Outcome:
    """Example 1: Flatten, 2 x Dense(256, relu), softmax; SGD 0.2, batch 64, 10 epochs.

    The notebook never divides ``X_test`` by 255 before its confusion matrix; the
    compared number is the accuracy on the scaled test images, the notebook's literal one
    is in ``extra`` as ``test_acc_unscaled_inputs``.
    """
    keras = common.seeded_keras(seed)
    (x_train_full, y_train_full), (x_test, y_test) = common.load_mnist()
    x_train, y_train = x_train_full[:50_000] / 255.0, y_train_full[:50_000]
    x_valid, y_valid = x_train_full[50_000:] / 255.0, y_train_full[50_000:]
    x_train, y_train = common.limit(count, x_train, y_train)
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
    return Outcome(accuracy(x_test / 255.0), common.history_epochs(history), extra)
