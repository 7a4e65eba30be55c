"""What an epoch of a full-batch lesson costs beyond its training step and validation
forward: the notebook's own loop, plain Lightning, the Lightning engine whole and with one
part removed at a time, plain Keras ``fit`` and the Keras engine.

    python -m benchmarks.epoch_overhead                 # experiment=digits_sigmoid, 300 - 50 epochs
    python -m benchmarks.epoch_overhead threads=1 reps=3 epochs=1000
    python -m benchmarks.epoch_overhead --json          # the result as JSON on stdout, not tables

A full-batch lesson takes one optimizer step an epoch (``digits_sigmoid``: 5,000 of them
on 1,257 digits), so whatever a framework does once an epoch (its hooks, logging, a
checkpoint, a progress bar) weighs as much as the arithmetic. Each row runs the lesson
for ``epochs`` and then for ``short`` epochs; the difference over ``epochs - short`` is
its time per epoch, with start-up, set-up and the end of the run cancelled out. The rows
run interleaved (the order rotates each round), timed with ``time.perf_counter``; each
figure is a median over ``reps`` rounds after ``warmup`` rounds.

Rows: the notebook's own loop (``trainlab.lessons.notebook_reference``, the lesson's
cell: one step on all training digits, then the held-out forward, an accuracy each);
plain Lightning (``benchmarks.lightning_plain``); the Lightning engine as configured,
then without its checkpoint callbacks, without its TensorBoard logger, without its
progress bar (no bar at all); plain Keras ``fit`` (``benchmarks.keras_bare``)
and the Keras engine. A part's cost is its row minus the row it adds to.

Options: ``lesson`` (a lesson of ``conf/experiment`` that the notebook reference has,
made for the full-batch ones: digits_sigmoid, digits_tanh), ``epochs``, ``short``,
``reps``, ``warmup``, ``threads`` (0: torch's default), ``output`` and ``--json`` (the
file is written either way; everything else goes to stderr). Other ``key=value``
arguments are trainlab overrides.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from time import perf_counter
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
    summary,
    take_flag,
    write_result,
)
from benchmarks.data import load_data
from benchmarks.epoch_report import describe
from benchmarks.lightning_plain import plain_fit
from benchmarks.loops import device_of
from benchmarks.machine import machine
from trainlab.data.base import TensorDataModule
from trainlab.errors import ConfigError
from trainlab.lessons.notebook_reference import LESSONS

OPTIONS = {
    "lesson": "digits_sigmoid",
    "epochs": 300,
    "short": 50,
    "reps": 5,
    "warmup": 1,
    "threads": 0,
    "output": "bench/epoch_overhead.json",
}
#: The Lightning engine's rows: name -> what they remove from the configured run.
LIGHTNING_ROWS = {
    "lightning": [],
    "lightning_no_checkpoints": [
        "~callbacks.model_checkpoint",
        "~callbacks.mid_epoch_checkpoint",
        "+trainer.enable_checkpointing=false",
    ],
    "lightning_no_logger": ["~logger.tensorboard"],
    "lightning_no_progress_bar": ["~callbacks.rich_progress_bar"],
}
ROW_LABELS = {
    "notebook": "the notebook's own loop",
    "lightning_plain": "plain Lightning (LightningModule + DataLoader)",
    "lightning": "Lightning engine, as configured",
    "lightning_no_checkpoints": "Lightning engine without its checkpoint callbacks",
    "lightning_no_logger": "Lightning engine without its TensorBoard logger",
    "lightning_no_progress_bar": "Lightning engine without a progress bar",
    "keras_plain": "plain Keras fit (no engine callbacks)",
    "keras": "Keras engine, as configured",
}
#: Part -> (label, the row with it, the row without it).
PARTS = {
    "lightning total": ("the Lightning engine beyond the notebook's loop", "lightning", "notebook"),
    "lightning loop": ("plain Lightning beyond the notebook's loop", "lightning_plain", "notebook"),
    "lightning engine": ("the Lightning engine beyond plain Lightning", "lightning", "lightning_plain"),
    "checkpoints": ("its checkpoint callbacks", "lightning", "lightning_no_checkpoints"),
    "logger": ("its TensorBoard logger", "lightning", "lightning_no_logger"),
    "progress bar": ("its progress bar", "lightning", "lightning_no_progress_bar"),
    "keras total": ("the Keras engine beyond the notebook's loop", "keras", "notebook"),
    "keras loop": ("plain Keras fit beyond the notebook's loop", "keras_plain", "notebook"),
    "keras engine": ("the Keras engine beyond plain Keras fit", "keras", "keras_plain"),
}

#: A run of the lesson: (epochs, a fresh run directory) -> anything.
Run = Callable[[int, Path], object]


def lesson_config(
    lesson: str, overrides: Sequence[str], engine: str, epochs: int, extra: Sequence[str] = ()
) -> DictConfig:
    """``python train.py experiment=<lesson> <overrides> engine=<engine>`` for ``epochs``."""
    return trainlab.compose(
        f"experiment={lesson}",
        *overrides,
        *extra,
        f"engine={engine}",
        f"trainer.max_epochs={epochs}",
        "figures=false",  # drawn after the fit: the same in both runs, only longer
    )


def engine_run(configs: Mapping[int, DictConfig]) -> Run:
    """``trainlab.train`` of the config composed for that many epochs."""

    def run(epochs: int, run_dir: Path) -> None:
        try:
            trainlab.train(configs[epochs], run_dir=run_dir)
        except ConfigError as error:  # an option this engine refuses
            raise Unavailable(str(error)) from None

    return run


def keras_plain_run(cfg: DictConfig, datamodule: TensorDataModule) -> Run:
    try:
        from benchmarks.keras_bare import keras_bare_fit
        from benchmarks.keras_timer import InlineBatchEndTimer
    except ImportError as error:
        raise Unavailable(f"Keras does not import: {error}") from None
    return lambda epochs, _: keras_bare_fit(cfg, datamodule, epochs, [InlineBatchEndTimer()])


def per_epoch(run: Run, epochs: int, short: int, run_dir: Path) -> float:
    """Seconds per epoch: a run of ``epochs`` minus a run of ``short``, over the difference."""
    seconds = []
    for count in (epochs, short):
        start = perf_counter()
        run(count, run_dir / f"{count}_epochs")
        seconds.append(perf_counter() - start)
    return (seconds[0] - seconds[1]) / (epochs - short)


def unavailable(reason: str) -> Run:
    def run(epochs: int, run_dir: Path) -> None:
        raise Unavailable(reason)

    return run


def runs(
    lesson: str,
    overrides: Sequence[str],
    counts: Sequence[int],
    cfg: DictConfig,
    datamodule: TensorDataModule,
) -> dict[str, Run]:
    """Every row's run of the lesson for any of ``counts`` epochs, by row name. The plain
    rows train ``cfg``'s network and optimizer; the notebook's cell its own, seeded alike."""
    notebook = LESSONS[lesson].run
    rows: dict[str, Run] = {
        "notebook": lambda count, _: notebook(int(cfg.seed), count, None),
        "lightning_plain": lambda count, _: plain_fit(cfg, datamodule, count),
    }
    for name, extra in LIGHTNING_ROWS.items():
        configs = {n: lesson_config(lesson, overrides, "lightning", n, extra) for n in counts}
        rows[name] = engine_run(configs)
    try:
        rows["keras_plain"] = keras_plain_run(cfg, datamodule)
        keras = {n: lesson_config(lesson, overrides, "keras", n) for n in counts}
        rows["keras"] = engine_run(keras)
    except Unavailable as reason:
        rows["keras_plain"] = rows["keras"] = unavailable(str(reason))
    return rows


def measures(
    rows: Mapping[str, Run], epochs: int, short: int, scratch: Path
) -> dict[str, Callable[[int], float]]:
    """Each row's seconds per epoch in round ``r``, its runs in ``scratch/<row>/<r>``."""

    def measure(name: str, run: Run) -> Callable[[int], float]:
        return lambda round_: per_epoch(run, epochs, short, scratch / name / str(round_))

    return {name: measure(name, run) for name, run in rows.items()}


def report(
    argv: Sequence[str],
    options: Mapping[str, Any],
    overrides: Sequence[str],
    cfg: DictConfig,
    datamodule: TensorDataModule,
    rows: Mapping[str, Row],
) -> dict[str, Any]:
    ms = {name: [1e3 * s for s in row.seconds] for name, row in rows.items() if row.seconds}
    medians = {name: statistics.median(values) for name, values in ms.items()}
    return {
        "benchmark": "milliseconds per epoch of a full-batch lesson, start-up cancelled",
        "command": command_line("benchmarks.epoch_overhead", argv),
        "machine": machine(device_of(cfg)),
        "config": {
            "lesson": options["lesson"],
            "overrides": list(overrides),
            **describe(cfg, datamodule),
            **{key: int(options[key]) for key in ("epochs", "short", "reps", "warmup")},
        },
        "rows": {
            name: {"label": ROW_LABELS[name], "ms_per_epoch": summary(values)}
            for name, values in ms.items()
        },
        "parts": {
            part: {
                "label": label,
                "row": row,
                "base": base,
                "ms_per_epoch": medians[row] - medians[base],
            }
            for part, (label, row, base) in PARTS.items()
            if row in medians and base in medians
        },
        "unavailable": {name: row.unavailable for name, row in rows.items() if row.unavailable},
    }


def print_tables(result: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    config = result["config"]
    console = Console()
    table = Table(
        title=f"experiment={config['lesson']}: ms per epoch, runs of {config['epochs']} minus "
        f"{config['short']} epochs, median of {config['reps']}"
    )
    for column in ("row", "ms/epoch", "min-max"):
        table.add_column(column, justify="left" if column == "row" else "right")
    for row in result["rows"].values():
        times = row["ms_per_epoch"]
        table.add_row(row["label"], f"{times['median']:.2f}", f"{times['min']:.2f}-{times['max']:.2f}")
    console.print(table)
    parts = Table(title="cost of each part, ms per epoch (a row minus the row it adds to)")
    parts.add_column("part")
    parts.add_column("ms/epoch", justify="right")
    for part in result["parts"].values():
        parts.add_row(part["label"], f"{part['ms_per_epoch']:+.2f}")
    console.print(parts)
    for name, reason in result["unavailable"].items():
        console.print(f"{name}: not available ({reason})")


def main(argv: Sequence[str]) -> dict[str, Any]:
    as_json, argv = take_flag(argv, "--json")
    options, overrides = split_options(argv, OPTIONS, __doc__ or "")
    lesson, epochs, short = str(options["lesson"]), int(options["epochs"]), int(options["short"])
    if lesson not in LESSONS:
        sys.exit(f"benchmarks.epoch_overhead: no notebook reference for lesson={lesson}")
    if not 0 < short < epochs:
        sys.exit("benchmarks.epoch_overhead: needs 0 < short < epochs")
    if int(options["threads"]) > 0:
        torch.set_num_threads(int(options["threads"]))
    with stdout_to_stderr() if as_json else contextlib.nullcontext():
        cfg = lesson_config(lesson, overrides, "lightning", epochs)
        datamodule = load_data(cfg, 0)
        lesson_runs = runs(lesson, overrides, (epochs, short), cfg, datamodule)
        with tempfile.TemporaryDirectory(prefix="trainlab-epoch-overhead-") as scratch:
            timed = measures(lesson_runs, epochs, short, Path(scratch))
            rows = interleaved(timed, int(options["warmup"]), int(options["reps"]))
        result = report(argv, options, overrides, cfg, datamodule, rows)
        if not as_json:
            print_tables(result)
        write_result(Path(str(options["output"])), result)
    if as_json:
        print_json(result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
