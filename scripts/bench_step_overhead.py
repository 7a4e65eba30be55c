"""Where a step's time goes besides the arithmetic: each engine's and each default callback's
cost per training step, measured on a network so small that its arithmetic is negligible.

    python scripts/bench_step_overhead.py                  # writes bench/step_overhead.json
    python scripts/bench_step_overhead.py reps=1 warmup=0  # quick

The network is a 64-10 linear model on scikit-learn's digits in batches of 4 (292 steps
an epoch, validation included), so a step's time is almost all framework. Rows, run
interleaved like ``bench_epoch.py``'s: the raw loop; the Lightning engine with no
callbacks and no logger; the same plus each default callback alone; the Lightning
engine as configured; Keras' ``fit`` with no callbacks; the Keras engine as configured.
The difference between a row and its base row is that part's cost per step. Other
``key=value`` arguments are trainlab overrides.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

import bench_epoch as epoch_bench
from bench_args import split_options, write_result
from omegaconf import DictConfig

OPTIONS = {"reps": 5, "warmup": 1, "output": "bench/step_overhead.json"}
TINY = ["data=digits", "model=linear", "optimizer=sgd", "data.batch_size=4"]
CALLBACKS = (  # conf/callbacks/default.yaml
    "early_stopping",
    "model_checkpoint",
    "rich_progress_bar",
    "learning_rate_monitor",
    "model_summary",
)
# What removing a default callback or the logger takes besides deleting its config node:
# Lightning adds its own progress bar, summary and checkpoint unless told not to, and the
# learning rate monitor needs a logger.
WITHOUT = {
    "rich_progress_bar": ["+trainer.enable_progress_bar=false"],
    "model_summary": ["+trainer.enable_model_summary=false"],
    "model_checkpoint": ["+trainer.enable_checkpointing=false"],
}


def without(names: tuple[str, ...]) -> list[str]:
    """Overrides that drop the given default callbacks."""
    return [o for name in names for o in [f"~callbacks.{name}", *WITHOUT.get(name, [])]]


def lightning_rows() -> dict[str, list[str]]:
    """Row name -> overrides: bare, each callback alone (the logger kept for the LR monitor)."""
    bare = [*without(CALLBACKS), "~logger"]
    rows = {"lightning_bare": bare}
    for name in CALLBACKS:
        others = tuple(c for c in CALLBACKS if c != name)
        logger = [] if name == "learning_rate_monitor" else ["~logger"]
        rows[f"lightning_bare+{name}"] = [*without(others), *logger]
    rows["lightning_bare+logger"] = without(CALLBACKS)
    rows["lightning"] = []
    return rows


def keras_bare_epoch(cfg: DictConfig, datamodule: Any) -> float:
    """The last epoch of a ``model.fit`` with Keras' own loop only: no callbacks of ours.

    The timer has a (no-op) batch-end hook, as the engine's checkpoint callback does, so
    Keras calls batch ends in line in both rows: with no such hook it hands each one to
    a thread pool, which costs these machines about 0.15 ms a step.
    """
    from hydra.utils import instantiate

    from trainlab.engines.keras.backend import keras
    from trainlab.engines.keras.optimizers import build_optimizer
    from trainlab.engines.keras.training import compile_model, keras_batches

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds = perf_counter() - self.start

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            pass

    spec = datamodule.spec
    keras.utils.set_random_seed(int(cfg.seed))
    model = compile_model(instantiate(cfg.model).build_keras(spec), spec, build_optimizer(cfg.optimizer))
    timer = EpochTimer()
    model.fit(
        keras_batches(datamodule.train_dataloader(), spec),
        validation_data=keras_batches(datamodule.val_dataloader(), spec),
        epochs=epoch_bench.ENGINE_EPOCHS,
        shuffle=False,
        callbacks=[timer],
        verbose=2,
    )
    return timer.seconds


def measures(overrides: list[str], scratch: Path) -> tuple[dict[str, Callable[[int], float]], int]:
    """Each row's timed epoch (seconds), and the training steps in an epoch."""
    compose = lambda extra: epoch_bench.compose_config([*TINY, *overrides, *extra], scratch)  # noqa: E731
    base = compose([])
    datamodule = epoch_bench.load_data(base, 0)
    device = epoch_bench.device_of(base)
    rows: dict[str, Callable[[int], float]] = {
        "raw": lambda _: epoch_bench.raw_epoch(base, datamodule, device)
    }
    for name, extra in lightning_rows().items():
        cfg = compose(extra)
        rows[name] = lambda r, cfg=cfg, name=name: epoch_bench.trainlab_epoch(
            cfg, datamodule, scratch / f"{name}-{r}"
        )
    rows["keras_bare"] = lambda _: keras_bare_epoch(base, datamodule)
    rows["keras"] = lambda r: epoch_bench.keras_epoch(base, datamodule, scratch / f"k-{r}")
    return rows, len(datamodule.train_dataloader())


def differences(us: dict[str, float]) -> dict[str, float]:
    """Each part's cost per step: a row minus the row it adds to."""
    parts = {"lightning loop": us["lightning_bare"] - us["raw"]}
    for name in (*CALLBACKS, "logger"):
        parts[name] = us[f"lightning_bare+{name}"] - us["lightning_bare"]
    parts["keras loop"] = us["keras_bare"] - us["raw"]
    parts["keras engine callbacks and logging"] = us["keras"] - us["keras_bare"]
    return parts


def main(argv: list[str]) -> dict[str, Any]:
    own, overrides = split_options(argv, OPTIONS, __doc__ or "")
    reps, warmup, output = int(own["reps"]), int(own["warmup"]), Path(str(own["output"]))
    with tempfile.TemporaryDirectory(prefix="trainlab-overhead-") as scratch:
        rows, steps = measures(overrides, Path(scratch))
        seconds = {
            name: row.seconds for name, row in epoch_bench.interleaved(rows, warmup, reps).items()
        }
    us = {name: 1e6 * statistics.median(runs) / steps for name, runs in seconds.items()}
    result = {
        "benchmark": "microseconds per training step of a 64-10 linear model (framework cost)",
        "command": " ".join(["python", "scripts/bench_step_overhead.py", *argv]),
        "machine": epoch_bench.machine(epoch_bench.torch.device("cpu")),
        "steps_per_epoch": steps,
        "us_per_step": us,
        "runs_s": seconds,
        "cost_us_per_step": differences(us),
    }
    print_table(result)
    write_result(output, result)
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = Table(title=f"us per step ({result['steps_per_epoch']} steps an epoch, median)")
    rows.add_column("row")
    rows.add_column("us/step", justify="right")
    for name, value in result["us_per_step"].items():
        rows.add_row(name, f"{value:.0f}")
    parts = Table(title="cost of each part, us per step")
    parts.add_column("part")
    parts.add_column("us/step", justify="right")
    for name, value in result["cost_us_per_step"].items():
        parts.add_row(name, f"{value:.0f}")
    console = Console()
    console.print(rows)
    console.print(parts)


if __name__ == "__main__":
    main(sys.argv[1:])
