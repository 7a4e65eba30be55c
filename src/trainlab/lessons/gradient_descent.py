"""Gradient descent on one linear neuron, three ways, drawn on the loss surface.

The lesson derives the gradient of the mean squared error of y_hat = w1 * x + w0:

    dL/dw1 = 2/N * sum((y_hat - y) * x)        dL/dw0 = 2/N * sum(y_hat - y)

and steps ``w <- w - lr * grad`` by hand. The same start trained with ``torch.optim.SGD``
and with Keras' ``SGD`` in ``model.fit`` must follow the same path; this module runs
all three, checks that they agree at every step, and draws the paths on the surface.
A learning rate that is too large makes all three diverge, and that is shown too.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from trainlab.errors import ConfigError, TrainlabError
from trainlab.lessons import lesson_main
from trainlab.lessons.descent_figures import draw
from trainlab.lessons.linear_neuron import Array, Problem

log = logging.getLogger("trainlab")
ENGINES = ("numpy", "torch", "keras")


def by_hand(problem: Problem, start: Array, lr: float, steps: int) -> Array:
    """Weights (w1, w0) before each step and after the last: (steps + 1, 2)."""
    path = np.empty((steps + 1, 2))
    path[0] = start
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            path[step + 1] = path[step] - lr * problem.gradient(*path[step])
    return path


def with_torch(problem: Problem, start: Array, lr: float, steps: int) -> Array:
    import torch

    neuron = torch.nn.Linear(1, 1)
    with torch.no_grad():
        neuron.weight.fill_(float(start[0]))
        neuron.bias.fill_(float(start[1]))
    optimizer = torch.optim.SGD(neuron.parameters(), lr=lr)
    x = torch.tensor(problem.x, dtype=torch.float32).reshape(-1, 1)
    y = torch.tensor(problem.y, dtype=torch.float32).reshape(-1, 1)
    path = [start.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        torch.autograd.backward(torch.nn.functional.mse_loss(neuron(x), y))
        optimizer.step()
        path.append(np.array([neuron.weight.item(), neuron.bias.item()]))
    return np.array(path)


def with_keras(problem: Problem, start: Array, lr: float, steps: int) -> Array:
    """Keras' own ``fit``: one full batch per epoch, the weights recorded after each step."""
    from trainlab.keras_backend import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, name="neuron")])
    model.set_weights([np.array([[start[0]]]), np.array([start[1]])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    path = [start.copy()]

    def record(batch: int, logs: dict[str, Any] | None = None) -> None:
        kernel, bias = model.get_weights()
        path.append(np.array([kernel[0, 0], bias[0]], dtype=np.float64))

    x, y = problem.x.reshape(-1, 1).astype("float32"), problem.y.reshape(-1, 1).astype("float32")
    callback = keras.callbacks.LambdaCallback(on_train_batch_end=record)
    model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0, callbacks=[callback])
    return np.array(path)


def autograd_gradient(problem: Problem, start: Array) -> Array:
    """The gradient at ``start`` from torch's autograd, to check the derivation."""
    import torch

    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(problem.x), torch.tensor(problem.y)
    (gradient,) = torch.autograd.grad(torch.mean((w[0] * x + w[1] - y) ** 2), w)
    return np.asarray(gradient.numpy(), dtype=np.float64)


def finite_steps(path: Array) -> int:
    """How many leading rows of ``path`` are finite."""
    finite = np.isfinite(path).all(axis=1)
    return len(path) if finite.all() else int(np.argmin(finite))


def largest_disagreement(paths: dict[str, Array]) -> tuple[float, int]:
    """The largest difference between any path and the hand-written one, relative to the
    weights' size (``|w_a - w_b| / max(1, |w_a|)``, vector norms), over the steps where
    every path is finite; and how many steps that is.

    Relative to the whole weight vector, not per weight: on a diverging run the huge w1
    terms cancel in dL/dw0 only up to rounding, which swamps the small w0 in any precision.
    """
    reference = paths["numpy"]
    common = min(finite_steps(p) for p in paths.values())
    scale = np.maximum(1.0, np.linalg.norm(reference[:common], axis=1))
    gaps = [np.linalg.norm(p[:common] - reference[:common], axis=1) / scale for p in paths.values()]
    return float(max(gap.max() for gap in gaps)), common


def check_options(cfg: DictConfig) -> None:
    if not (isinstance(cfg.lr, int | float) and math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ConfigError(f"lr={cfg.lr!r} is invalid: expected a positive number")
    if not (isinstance(cfg.steps, int) and cfg.steps >= 1):
        raise ConfigError(f"steps={cfg.steps!r} is invalid: expected an integer >= 1")
    if len(cfg.start) != 2:
        raise ConfigError(f"start={list(cfg.start)} is invalid: expected [w1, w0]")
    if len(cfg.inputs) < 2:
        raise ConfigError("inputs: give at least two points")


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run the three descents, check them, draw them; returns what it printed."""
    check_options(cfg)
    x = np.asarray(cfg.inputs, dtype=np.float64)
    problem = Problem(x, float(cfg.factor) * x)
    start, lr, steps = np.asarray(cfg.start, dtype=np.float64), float(cfg.lr), int(cfg.steps)

    analytic, autograd = problem.gradient(*start), autograd_gradient(problem, start)
    gradient_gap = float(np.max(np.abs(analytic - autograd)))
    print(
        f"gradient at w1={start[0]:g}, w0={start[1]:g}: by hand {analytic.round(6).tolist()}, "
        f"autograd {autograd.round(6).tolist()} (max difference {gradient_gap:.1e})"
    )
    paths = {
        "numpy": by_hand(problem, start, lr, steps),
        "torch": with_torch(problem, start, lr, steps),
        "keras": with_keras(problem, start, lr, steps),
    }
    losses = {name: problem.loss(path[:, 0], path[:, 1]) for name, path in paths.items()}
    disagreement, compared = largest_disagreement(paths)
    agree = disagreement <= float(cfg.tolerance)
    first, last = float(losses["numpy"][0]), float(losses["numpy"][-1])
    diverged = not math.isfinite(last) or last > first
    for name, path in paths.items():
        w1, w0 = path[-1]
        print(f"{name:>5}: after {steps} steps w1={w1:.6g} w0={w0:.6g} loss={losses[name][-1]:.6g}")
    if diverged:
        overflow = min(finite_steps(p) for p in paths.values())
        where = f"; float32 overflows at step {overflow}" if overflow <= steps else ""
        print(f"lr={lr:g} diverges: the loss grows from {first:.4g} to {last:.4g}{where}")
    else:
        print(f"lr={lr:g} converges: the loss falls from {first:.4g} to {last:.4g}")
    verdict = "agree" if agree else "DISAGREE"
    print(
        f"the three paths {verdict} at every step: largest difference {disagreement:.1e} "
        f"(tolerance {float(cfg.tolerance):g}) over {compared} finite steps"
    )

    output_dir = Path(str(cfg.output_dir))
    figures = draw(problem, paths, losses, cfg, output_dir)
    summary = {
        "lr": lr,
        "steps": steps,
        "gradient_by_hand": analytic.tolist(),
        "gradient_autograd": autograd.tolist(),
        "largest_disagreement": disagreement,
        "compared_steps": compared,
        "agree": agree,
        "diverged": diverged,
        "final": {name: path[-1].tolist() for name, path in paths.items()},
        "final_loss": {name: float(loss[-1]) for name, loss in losses.items()},
        "figures": [str(p) for p in figures],
    }
    (output_dir / "descent.json").write_text(json.dumps(summary, indent=2) + "\n")
    np.savetxt(
        output_dir / "paths.csv",
        np.column_stack([np.arange(steps + 1), *paths.values()]),
        delimiter=",",
        header="step," + ",".join(f"{n}_w1,{n}_w0" for n in paths),
        comments="",
    )
    print(f"figures and paths: {output_dir}")
    if not agree:
        raise TrainlabError(
            f"the paths disagree by {disagreement:.1e} > tolerance {float(cfg.tolerance):g}; "
            f"see {output_dir / 'paths.csv'}"
        )
    return summary


main = lesson_main("gradient_descent", run)

if __name__ == "__main__":
    main()
