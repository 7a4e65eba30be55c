"""Seconds per training epoch: trainlab's engines beside their libraries' plain code, a raw
loop, a per-sample DataLoader and the compute floor.

    python -m benchmarks.epoch                        # MNIST, 784-256-256-10 ReLU, SGD
    python -m benchmarks.epoch experiment=digits_dropout output=bench/epoch_digits.json
    python -m benchmarks.epoch data=digits model=mlp_dropout reps=3 max_samples=500
    python -m benchmarks.epoch --json                 # the result as JSON on stdout, not tables

The second line is the digits preset: the seed lesson exactly (64-24-24-10 tanh with
dropout 0.25, batch 20, SGD lr 0.01 momentum 0.9, its 70/30 split), where a step is so
small that what an engine does around it shows. Every argument is a trainlab override
(the config ``train.py`` composes; with ``experiment=`` the lesson chooses the groups,
else data, model and optimizer default to MNIST, mlp and SGD) except ``reps``,
``warmup``, ``max_samples``, ``threads`` (0: torch's default), ``output`` and ``--json``
(the file is written either way; everything else goes to stderr).

One epoch is a pass over the training split plus one over the validation split, every
row on the same data. The hand-written rows time one epoch of a network they build; the
rows that fit (the engines, plain Lightning, plain Keras) time the last epoch of a short
fit with a callback (``benchmarks.engine_epoch``). Plain Lightning is a minimal
LightningModule on ``DataLoader``s (``benchmarks.lightning_plain``), plain Keras is
``model.fit`` without the engine's callbacks (``benchmarks.keras_bare``): what an engine
adds over them is reported per epoch and per training step. The rows run interleaved
(raw, plain Lightning, Lightning engine, plain Keras, Keras engine, per-sample, floor;
the order rotates each repetition), so a noisy neighbour slows them alike. The ratios
compare medians.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

import trainlab
from benchmarks.common import (
    Row,
    Unavailable,
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
from benchmarks.epoch_report import (
    LABELS,
    describe,
    engine_overhead,
    print_tables,
    ratios,
    row_data,
    train_samples,
    train_steps,
)
from benchmarks.floor import Floor, compute_floor
from benchmarks.lightning_plain import lightning_plain_epoch
from benchmarks.loops import device_of, raw_epoch
from benchmarks.machine import machine
from benchmarks.per_sample import per_sample_epoch
from trainlab.data.base import TensorDataModule

# The default benchmark; any of these groups given on the command line wins.
DEFAULT_CHOICES = {"data": "mnist", "model": "mlp", "optimizer": "sgd"}
OPTIONS = {"reps": 5, "warmup": 1, "max_samples": 0, "threads": 0, "output": "bench/epoch.json"}


@dataclass
class Options:
    reps: int
    warmup: int
    max_samples: int
    threads: int
    output: Path
    overrides: list[str]


def parse_args(argv: Sequence[str]) -> Options:
    """The benchmark's own ``key=value`` options; the rest are trainlab overrides."""
    own, overrides = split_options(argv, OPTIONS, __doc__ or "")
    groups = {arg.partition("=")[0].lstrip("+~") for arg in overrides}
    # A lesson chooses its own groups: a default on the command line would override them.
    defaults = [
        f"{group}={choice}"
        for group, choice in DEFAULT_CHOICES.items()
        if group not in groups and "experiment" not in groups
    ]
    return Options(
        reps=int(own["reps"]),
        warmup=int(own["warmup"]),
        max_samples=int(own["max_samples"]),
        threads=int(own["threads"]),
        output=Path(str(own["output"])),
        overrides=defaults + overrides,
    )


def keras_plain_epoch(cfg: DictConfig, datamodule: TensorDataModule) -> float:
    """The plain Keras row; not available where Keras does not import."""
    try:
        from benchmarks.keras_bare import keras_bare_epoch
    except ImportError as error:
        raise Unavailable(f"Keras does not import: {error}") from None
    return keras_bare_epoch(cfg, datamodule)


def measure_all(
    options: Options, cfg: DictConfig, datamodule: TensorDataModule, scratch: Path
) -> tuple[dict[str, Row], Floor]:
    """Every row of the table, interleaved; and the compute floor's details."""
    device = device_of(cfg)
    floors: list[Floor] = []

    def engine(name: str) -> Callable[[int], float]:
        return engine_row(engine_config(options.overrides, name, options.max_samples), scratch / name)

    def floor() -> float:
        floors.append(compute_floor(cfg, datamodule, device))
        return floors[-1].seconds

    measures: dict[str, Callable[[int], float]] = {
        "raw": lambda _: raw_epoch(cfg, datamodule, device),
        "lightning_plain": lambda _: lightning_plain_epoch(cfg, datamodule),
        "trainlab": engine("lightning"),
        "keras_plain": lambda _: keras_plain_epoch(cfg, datamodule),
        "keras": engine("keras"),
        "per_sample": lambda _: per_sample_epoch(cfg, datamodule, device),
        "floor": lambda _: floor(),
    }
    assert tuple(measures) == tuple(LABELS)
    return interleaved(measures, options.warmup, options.reps), floors[-1]


def report(
    options: Options,
    argv: Sequence[str],
    cfg: DictConfig,
    datamodule: TensorDataModule,
    rows: dict[str, Row],
    floor: Floor,
) -> dict[str, Any]:
    """Everything the tables show, as plain data for the JSON result."""
    n_train, steps = train_samples(datamodule), train_steps(datamodule)
    return {
        "benchmark": "seconds per epoch (train split + validation split)",
        "command": command_line("benchmarks.epoch", argv),
        "machine": machine(device_of(cfg)),
        "config": {
            "overrides": options.overrides,
            **describe(cfg, datamodule),
            "reps": options.reps,
            "warmup": options.warmup,
        },
        "rows": {name: row_data(row, n_train) for name, row in rows.items()},
        "floor": {
            "flops_per_epoch": floor.flops,
            "gemm_flops_per_second": floor.gemm_flops_per_second,
            "parameters": floor.parameters,
        },
        "ratios": ratios(rows),
        "engine_overhead": engine_overhead(rows, steps),
    }


def main(argv: Sequence[str]) -> dict[str, Any]:
    as_json, argv = take_flag(argv, "--json")
    options = parse_args(argv)
    if options.threads > 0:
        torch.set_num_threads(options.threads)
    with stdout_to_stderr() if as_json else contextlib.nullcontext():
        cfg = trainlab.compose(*options.overrides)
        datamodule = load_data(cfg, options.max_samples)
        with tempfile.TemporaryDirectory(prefix="trainlab-bench-") as scratch:
            rows, floor = measure_all(options, cfg, datamodule, Path(scratch))
        result = report(options, argv, cfg, datamodule, rows, floor)
        if not as_json:
            print_tables(result)
        write_result(options.output, result)
    if as_json:
        print_json(result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
