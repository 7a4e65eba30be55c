"""Notebook 000 (Keras): MNIST 0 vs 1 resized to 6x6, Flatten + Dense(2, sigmoid), SGD 0.1."""

from __future__ import annotations

import numpy as np

from trainlab.lessons.reference import common
from trainlab.lessons.reference.common import Array, Outcome, lesson

FIT_CELL = "fit(epochs=1) (the GradientTape steps before it: manual_steps)"


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


@lesson("000", FIT_CELL, "test/acc", "test accuracy (argmax) after fit", 1)
def mnist_binary_6x6(seed: int, epochs: int, count: int | None) -> Outcome:
    """The ``fit`` cell from fresh weights.

    The two full-batch GradientTape steps the notebook takes before it are their own
    lesson (``trainlab.lessons.manual_steps``), as ``experiment=mnist_binary_6x6`` is the
    ``fit`` alone: the table compares like with like.
    """
    keras = common.seeded_keras(seed)
    (x_train, y_train), (x_test, y_test) = common.load_mnist()
    keep = np.where((y_train == 0) | (y_train == 1))
    x_train, y_train = x_train[keep], y_train[keep]
    keep = np.where((y_test == 0) | (y_test == 1))
    x_test, y_test = x_test[keep], y_test[keep]
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train, y_train = common.limit(count, x_train, y_train)
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
    return Outcome(accuracy(x_test_small, y_test), common.history_epochs(history), extra)
