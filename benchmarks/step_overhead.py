"""Where a step's time goes besides the arithmetic: each engine's and each default
callback's cost per training step, on a network so small that its arithmetic is negligible.

    python -m benchmarks.step_overhead                  # writes bench/step_overhead.json
    python -m benchmarks.step_overhead reps=1 warmup=0  # quick
    python -m benchmarks.step_overhead --json           # the result as JSON on stdout, not tables

The network is a 64-10 linear model on scikit-learn's digits in batches of 4 (292 steps
an epoch, validation included), so a step's time is almost all framework. Rows, run
interleaved as in ``benchmarks.epoch``: the raw loop; the Lightning engine with no
callbacks and no logger; the same plus each default callback alone; the Lightning
engine as configured; Keras' ``fit`` with no callbacks of the engine's; the Keras engine
as configured. The difference between a row and its base row is that part's cost per
step. Options: ``reps``, ``warmup``, ``output``, ``--json`` (the file is written either
way; everything else goes to stderr); other ``key=value`` arguments are trainlab overrides.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from benchmarks.common import (
    Row,
    command_line,
    interleaved,
    print_json,
    split_options,
    stdout_to_stderr,
    take_flag,
    write_result,
)
from benchmarks.data import load_data
from benchmarks.engine_epoch import engine_config, engine_row
from benchmarks.loops import device_of, raw_epoch
from benchmarks.machine import machine
from trainlab.data.base import TensorDataModule

OPTIONS = {"reps": 5, "warmup": 1, "output": "bench/step_overhead.json"}
TINY = ["data=digits", "model=linear", "optimizer=sgd", "data.batch_size=4"]
CALLBACKS = (  # conf/callbacks/default.yaml
    "early_stopping",
    "model_checkpoint",
    "rich_progress_bar",
    "model_summary",
)
# What removing a default callback takes besides deleting its config node: Lightning
# adds its own checkpoint unless told not to (the engine already turns Lightning's own
# progress bar and summary off when none is configured).
WITHOUT = {"model_checkpoint": ["+trainer.enable_checkpointing=false"]}
# Part -> (the row with it, the row without it).
PARTS = {
    "lightning loop": ("lightning_bare", "raw"),
    **{name: (f"lightning_bare+{name}", "lightning_bare") for name in (*CALLBACKS, "logger")},
    "keras loop": ("keras_bare", "raw"),
    "keras engine callbacks and logging": ("keras", "keras_bare"),
}


def without(names: Sequence[str]) -> list[str]:
    """Overrides that drop the given default callbacks."""
    return [o for name in names for o in [f"~callbacks.{name}", *WITHOUT.get(name, [])]]


def lightning_rows() -> dict[str, list[str]]:
    """Row name -> overrides: bare, each callback alone, the logger alone, everything."""
    rows = {"lightning_bare": [*without(CALLBACKS), "~logger"]}
    for name in CALLBACKS:
        others = [c for c in CALLBACKS if c != name]
        rows[f"lightning_bare+{name}"] = [*without(others), "~logger"]
    rows["lightning_bare+logger"] = without(CALLBACKS)
    rows["lightning"] = []
    return rows


def keras_bare_row(cfg: DictConfig, datamodule: TensorDataModule) -> float:
    from benchmarks.keras_bare import keras_bare_epoch

    return keras_bare_epoch(cfg, datamodule)


def measures(
    overrides: Sequence[str], base: DictConfig, datamodule: TensorDataModule, scratch: Path
) -> dict[str, Callable[[int], float]]:
    """Each row's timed epoch (seconds), by row name."""
    device = device_of(base)
    rows: dict[str, Callable[[int], float]] = {"raw": lambda _: raw_epoch(base, datamodule, device)}
    for name, extra in lightning_rows().items():
        rows[name] = engine_row(engine_config([*TINY, *overrides, *extra], "lightning"), scratch / name)
    rows["keras_bare"] = lambda _: keras_bare_row(base, datamodule)
    rows["keras"] = engine_row(engine_config([*TINY, *overrides], "keras"), scratch / "keras")
    return rows


def differences(us: Mapping[str, float]) -> dict[str, float]:
    """Each part's cost per step: a row minus the row it adds to (where both ran)."""
    return {part: us[row] - us[base] for part, (row, base) in PARTS.items() if row in us and base in us}


def report(argv: Sequence[str], rows: Mapping[str, Row], steps: int, device: Any) -> dict[str, Any]:
    ran = {name: row.seconds for name, row in rows.items() if row.seconds}
    us = {name: 1e6 * statistics.median(runs) / steps for name, runs in ran.items()}
    return {
        "benchmark": "microseconds per training step of a 64-10 linear model (framework cost)",
        "command": command_line("benchmarks.step_overhead", argv),
        "machine": machine(device),
        "steps_per_epoch": steps,
        "us_per_step": us,
        "runs_s": ran,
        "cost_us_per_step": differences(us),
        "unavailable": {name: row.unavailable for name, row in rows.items() if row.unavailable},
    }


def print_tables(result: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    titles = {
        "us_per_step": f"us per step ({result['steps_per_epoch']} steps an epoch, median)",
        "cost_us_per_step": "cost of each part, us per step",
    }
    for key, title in titles.items():
        table = Table(title=title)
        table.add_column("row" if key == "us_per_step" else "part")
        table.add_column("us/step", justify="right")
        for name, value in result[key].items():
            table.add_row(name, f"{value:.0f}")
        console.print(table)
    for name, reason in result["unavailable"].items():
        console.print(f"{name}: not available ({reason})")


def main(argv: Sequence[str]) -> dict[str, Any]:
    as_json, argv = take_flag(argv, "--json")
    own, overrides = split_options(argv, OPTIONS, __doc__ or "")
    reps, warmup, output = int(own["reps"]), int(own["warmup"]), Path(str(own["output"]))
    with stdout_to_stderr() if as_json else contextlib.nullcontext():
        base = engine_config([*TINY, *overrides], "lightning")
        datamodule = load_data(base, 0)
        with tempfile.TemporaryDirectory(prefix="trainlab-overhead-") as scratch:
            rows = interleaved(measures(overrides, base, datamodule, Path(scratch)), warmup, reps)
        result = report(argv, rows, len(datamodule.train_dataloader()), device_of(base))
        if not as_json:
            print_tables(result)
        write_result(output, result)
    if as_json:
        print_json(result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
