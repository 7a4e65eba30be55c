"""Notebook 000's gradient steps by hand: MNIST 0 vs 1 at 6x6, one sigmoid layer, two ways.

The notebook opens training up before it calls ``fit``: it computes the loss of the whole
training set under a ``GradientTape``, prints the gradients, applies them with its SGD
optimizer and prints the train accuracy, twice. ``tape.gradient`` of the per-image
losses differentiates their sum, so each step is ``lr`` times the summed gradient, a
large step. This lesson takes the same steps twice from the same initial weights: with
plain torch (autograd, ``w -= lr * grad``) and with Keras on its torch backend (Keras'
loss, ``optimizer.apply_gradients``), checks after each step that the gradients, the
weights and the accuracy agree, then lets Keras' ``fit`` continue for an epoch.

The loss is computed from the layer's logits, as TensorFlow's Keras (the notebook's)
does for a sigmoid output: on the torch backend Keras would clip the probabilities
instead, and a step this large saturates an output, whose clipped gradient is then
exactly zero for good. So the Keras model is the notebook's Dense(2) with its sigmoid
folded into ``BinaryCrossentropy(from_logits=True)``; the predictions apply it.

    python -m trainlab.lessons.manual_steps [seed=9 lr=0.1 steps=2 fit_epochs=1]
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig

from trainlab.errors import ConfigError, TrainlabError
from trainlab.lessons import lesson_main

if TYPE_CHECKING:
    import torch


@dataclass
class Data:
    """The notebook's arrays: images (N, 6, 6) in [0, 1], labels 0/1, one-hot targets."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @staticmethod
    def one_hot(labels: np.ndarray) -> np.ndarray:
        targets: np.ndarray = np.eye(2, dtype=np.float32)[labels]
        return targets


@dataclass
class Step:
    """One path's state after a step: its gradients, weights and train accuracy."""

    kernel_grad: np.ndarray
    bias_grad: np.ndarray
    kernel: np.ndarray
    bias: np.ndarray
    accuracy: float


def load_data(overrides: list[str]) -> Data:
    """``data=mnist_binary_6x6`` through trainlab's API, with no validation carve: the
    notebook steps on every training image and reports on the test images.
    """
    from hydra.utils import instantiate

    from trainlab.api import compose

    cfg = compose("data=mnist_binary_6x6", "data.val_size=null", *overrides)
    datamodule = instantiate(cfg.data)
    splits = datamodule.loaded_splits()
    x_train, y_train = (t.numpy() for t in splits.train)
    x_test, y_test = (t.numpy() for t in splits.test)
    return Data(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64))


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The notebook's accuracy: the class of the larger sigmoid output."""
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def summed_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over images of the mean over outputs of the binary cross-entropy (from the logits)."""
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1).sum()


def with_torch(data: Data, kernel: np.ndarray, bias: np.ndarray, lr: float, steps: int) -> list[Step]:
    """Plain torch: autograd for the gradients, the SGD update written out."""
    import torch

    x = torch.from_numpy(data.x_train.reshape(len(data.x_train), -1))
    targets = torch.from_numpy(Data.one_hot(data.y_train))
    w = torch.tensor(kernel, requires_grad=True)
    b = torch.tensor(bias, requires_grad=True)
    path = []
    for _ in range(steps):
        loss = summed_bce(x @ w + b, targets)
        grad_w, grad_b = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w -= lr * grad_w
            b -= lr * grad_b
            probabilities = torch.sigmoid(x @ w + b).numpy()
        path.append(
            Step(
                grad_w.numpy().copy(),
                grad_b.numpy().copy(),
                w.detach().numpy().copy(),
                b.detach().numpy().copy(),
                accuracy(probabilities, data.y_train),
            )
        )
    return path


def keras_model(seed: int, lr: float) -> Any:
    """The notebook's model (its sigmoid in the loss) and optimizer, seeded and compiled."""
    from trainlab.keras_backend import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((6, 6)), keras.layers.Flatten(), keras.layers.Dense(2, name="output")]
    )
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def keras_probabilities(model: Any, x: np.ndarray) -> np.ndarray:
    from trainlab.keras_backend import keras

    logits = model.predict(x, verbose=0, batch_size=len(x))
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.sigmoid(logits)))


def with_keras(data: Data, model: Any, steps: int) -> list[Step]:
    """Keras: its loss on its model's outputs, autograd, then ``optimizer.apply_gradients``."""
    import torch

    from trainlab.keras_backend import keras

    x = keras.ops.convert_to_tensor(data.x_train)
    targets = keras.ops.convert_to_tensor(Data.one_hot(data.y_train))
    weights = model.trainable_weights
    path = []
    for _ in range(steps):
        losses = keras.losses.binary_crossentropy(targets, model(x), from_logits=True)  # per image
        grads = torch.autograd.grad(keras.ops.sum(losses), [w.value for w in weights])
        model.optimizer.apply_gradients(zip(grads, weights, strict=True))
        kernel, bias = (np.asarray(w) for w in model.get_weights())
        probabilities = keras_probabilities(model, data.x_train)
        path.append(
            Step(
                grads[0].detach().cpu().numpy(),
                grads[1].detach().cpu().numpy(),
                kernel,
                bias,
                accuracy(probabilities, data.y_train),
            )
        )
    return path


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """``|a - b| / max(1, |a|)`` (vector norms): float32 rounding, whatever the scale."""
    return float(np.linalg.norm(a - b) / max(1.0, float(np.linalg.norm(a))))


def largest_gap(reference: Step, other: Step) -> float:
    pairs = [
        (reference.kernel_grad, other.kernel_grad),
        (reference.bias_grad, other.bias_grad),
        (reference.kernel, other.kernel),
        (reference.bias, other.bias),
    ]
    return max(relative_gap(a, b) for a, b in pairs)


def print_gradients(step: int, state: Step, count: int) -> None:
    """The gradients as the notebook prints them, the kernel's as one 6x6 map per output."""
    with np.printoptions(precision=2, suppress=True, linewidth=100):
        print(f"step {step}: gradients of the summed loss over {count:,} training images")
        for output in range(state.kernel_grad.shape[1]):
            print(f"  kernel -> output {output} (6x6, one per pixel):")
            grid = np.array2string(state.kernel_grad[:, output].reshape(6, 6), prefix="    ")
            print("    " + grid)
        print(f"  bias: {state.bias_grad}")


def check_options(cfg: DictConfig) -> None:
    if not (isinstance(cfg.lr, int | float) and math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ConfigError(f"lr={cfg.lr!r} is invalid: expected a positive number")
    for key, low in (("steps", 1), ("fit_epochs", 0), ("batch_size", 1), ("seed", 0)):
        if not (isinstance(cfg[key], int) and not isinstance(cfg[key], bool) and cfg[key] >= low):
            raise ConfigError(f"{key}={cfg[key]!r} is invalid: expected an integer >= {low}")
    if not (isinstance(cfg.tolerance, int | float) and cfg.tolerance > 0):
        raise ConfigError(f"tolerance={cfg.tolerance!r} is invalid: expected a positive number")


def run(cfg: DictConfig) -> dict[str, Any]:
    """Take the steps both ways, compare them after each, then fit; returns what it printed."""
    check_options(cfg)
    lr, steps, tolerance = float(cfg.lr), int(cfg.steps), float(cfg.tolerance)
    data = load_data([str(o) for o in cfg.data_overrides])
    count = len(data.y_train)
    print(
        f"MNIST 0 vs 1 at 6x6: {count:,} training and {len(data.y_test):,} test images; "
        f"Flatten + Dense(2, sigmoid), binary cross-entropy, SGD lr={lr:g}"
    )
    model = keras_model(int(cfg.seed), lr)
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in model.get_weights())
    x_train = data.x_train.reshape(count, -1)
    start = accuracy(1 / (1 + np.exp(-(x_train @ kernel + bias))), data.y_train)
    print(f"before any step: train acc {start:.2%} ({round(start * count)} of {count})")

    by_torch = with_torch(data, kernel, bias, lr, steps)
    by_keras = with_keras(data, model, steps)
    gaps = []
    for step, (mine, theirs) in enumerate(zip(by_torch, by_keras, strict=True), start=1):
        print_gradients(step, mine, count)
        gap = largest_gap(mine, theirs)
        gaps.append(gap)
        print(
            f"step {step}: train acc torch {mine.accuracy:.2%}, Keras {theirs.accuracy:.2%} "
            f"({round(mine.accuracy * count)} of {count}); largest torch/Keras difference {gap:.1e}"
        )
    largest = max(gaps)
    agree = largest <= tolerance and all(
        a.accuracy == b.accuracy for a, b in zip(by_torch, by_keras, strict=True)
    )
    verdict = "agree" if agree else "DISAGREE"
    print(
        f"torch autograd and Keras' apply_gradients {verdict} after every step: largest difference "
        f"{largest:.1e} (tolerance {tolerance:g})"
    )
    output_dir = Path(str(cfg.output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "lr": lr,
        "steps": steps,
        "train_images": count,
        "start_accuracy": start,
        "largest_difference": largest,
        "agree": agree,
        "torch": [_record(s) for s in by_torch],
        "keras": [_record(s) for s in by_keras],
    }
    if not agree:
        (output_dir / "manual_steps.json").write_text(json.dumps(summary, indent=2) + "\n")
        raise TrainlabError(
            f"torch and Keras disagree by {largest:.1e} > tolerance {tolerance:g}; "
            f"see {output_dir / 'manual_steps.json'}"
        )
    summary["fit"] = fit(model, data, int(cfg.fit_epochs), int(cfg.batch_size))
    (output_dir / "manual_steps.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"steps and gradients: {output_dir / 'manual_steps.json'}")
    return summary


def fit(model: Any, data: Data, epochs: int, batch_size: int) -> dict[str, float]:
    """The notebook's last cell: ``fit`` from the stepped weights, validated on the test set."""
    if epochs == 0:
        return {}
    history = model.fit(
        data.x_train,
        Data.one_hot(data.y_train),
        validation_data=(data.x_test, Data.one_hot(data.y_test)),
        epochs=epochs,
        batch_size=batch_size,
        verbose=2,
    )
    result = {key: float(values[-1]) for key, values in history.history.items()}
    result["train_acc"] = accuracy(keras_probabilities(model, data.x_train), data.y_train)
    result["test_acc"] = accuracy(keras_probabilities(model, data.x_test), data.y_test)
    print(
        f"after fit ({epochs} epoch{'s' * (epochs > 1)}, batch {batch_size}): train acc "
        f"{result['train_acc']:.2%}, test acc {result['test_acc']:.2%}"
    )
    return result


def _record(state: Step) -> dict[str, Any]:
    return {
        "kernel_grad": state.kernel_grad.tolist(),
        "bias_grad": state.bias_grad.tolist(),
        "kernel": state.kernel.tolist(),
        "bias": state.bias.tolist(),
        "train_acc": state.accuracy,
    }


main = lesson_main("manual_steps", run)

if __name__ == "__main__":
    main()
