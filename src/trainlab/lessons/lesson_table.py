"""The lesson table of ``docs/lessons.md``: each lesson on both engines beside the notebook's code.

A lesson is right when it lands where its notebook cell lands, so this runs both over
several seeds -- the notebook side through ``notebook_reference`` (which shares no
training code with trainlab), trainlab's through ``trainlab.train`` on each engine -- and
writes one row per lesson (``table_rows``): the means and ranges, the wall time of a run
on each side, and whether each engine's mean lies within the notebook's spread.

    python -m trainlab.lessons.lesson_table --lesson digits_dropout --output table.md
    python -m trainlab.lessons.lesson_table --doc            # rewrites docs/lessons.md's table
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from trainlab.lessons.notebook_reference import LESSONS, add_lesson_option, run_lesson
from trainlab.lessons.table_rows import (
    END,
    ENGINES,
    START,
    Row,
    Side,
    markdown,
    read_rows,
    replace_between_markers,
)

__all__ = ["END", "START", "Row", "Side", "main", "replace_between_markers"]

SEEDS, MNIST_SEEDS = 5, 3  # an MNIST run takes minutes, so those lessons get fewer seeds
QUIET = ("figures=false", "~callbacks.rich_progress_bar", "~callbacks.model_summary")
DOC = Path("docs") / "lessons.md"


def default_seeds(lesson: str) -> list[int]:
    return list(range(MNIST_SEEDS if lesson.startswith("mnist") else SEEDS))


def trainlab_run(
    lesson: str, engine: str, seed: int, epochs: int | None, run_dir: Path
) -> tuple[float, float]:
    """One run of the lesson through ``trainlab.train``: its metric and its wall time."""
    from trainlab import train
    from trainlab.api import RunResult
    from trainlab.errors import RunInterrupted, TrainlabError, exit_with

    overrides = [f"experiment={lesson}", f"engine={engine}", f"seed={seed}", *QUIET]
    if epochs is not None:
        overrides.append(f"trainer.max_epochs={epochs}")
    start = time.perf_counter()
    try:
        train(*overrides, run_dir=run_dir)
    except RunInterrupted as error:  # Ctrl-C or SIGTERM stops the table, not just this run
        exit_with(error)
    except TrainlabError as error:  # one failed run shows as NaN, the table still gets written
        print(f"{lesson} {engine} seed {seed}: {error}", file=sys.stderr)
        return math.nan, time.perf_counter() - start
    seconds = time.perf_counter() - start
    metrics = RunResult.read(run_dir).metrics  # as metrics.json records them
    return float(metrics.get(LESSONS[lesson].metric, math.nan)), seconds


def measure(
    lesson: str,
    seeds: Sequence[int],
    engines: Sequence[str],
    epochs: int | None,
    run_root: Path,
    notebook_cache: dict[tuple[str, int], tuple[float, float]],
) -> Row:
    """Every seed of a lesson on the notebook side (or from ``notebook_cache``) and each engine."""
    row = Row(lesson, LESSONS[lesson].metric, Side(), {engine: Side() for engine in engines})
    for seed in seeds:
        if (lesson, seed) in notebook_cache:
            row.notebook.add(seed, *notebook_cache[lesson, seed])
        else:
            result = run_lesson(lesson, seed, epochs)
            row.notebook.add(seed, result.value, result.seconds)
        log(
            f"{lesson} seed {seed}: notebook {row.notebook.values[-1]:.4f} "
            f"({row.notebook.seconds[-1]:.1f} s)"
        )
        for engine in engines:
            value, seconds = trainlab_run(
                lesson, engine, seed, epochs, run_root / f"{lesson}-{engine}-{seed}"
            )
            row.engines[engine].add(seed, value, seconds)
            log(f"{lesson} seed {seed}: {engine} {value:.4f} ({seconds:.1f} s)")
    return row


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def read_notebook_json(paths: Sequence[Path]) -> dict[tuple[str, int], tuple[float, float]]:
    """Earlier ``notebook_reference --json`` results, keyed by (lesson, seed)."""
    cache: dict[tuple[str, int], tuple[float, float]] = {}
    for path in paths:
        for item in json.loads(path.read_text()):
            cache[str(item["lesson"]), int(item["seed"])] = (
                float(item["value"]),
                float(item["seconds"]),
            )
    return cache


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainlab.lessons.lesson_table",
        description="Run each lesson's notebook code and trainlab (both engines) over several "
        f"seeds and write the lesson table of {DOC}.",
    )
    add_lesson_option(parser, "a lesson (repeatable; default: all)")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help=f"seeds (default: 0-{SEEDS - 1}, MNIST lessons 0-{MNIST_SEEDS - 1})",
    )
    parser.add_argument("--epochs", type=int, help="train this many epochs on every side (quick runs)")
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="trainlab engines (default: both)"
    )
    parser.add_argument("--output", type=Path, help="write the markdown table to this file")
    parser.add_argument(
        "--doc",
        "--readme",
        dest="doc",
        type=Path,
        nargs="?",
        const=DOC,
        metavar="FILE",
        help=f"put the table between {START} and {END} in this file (default: {DOC})",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="write every run's numbers to this JSON file (stdout carries the runs' output)",
    )
    parser.add_argument(
        "--notebook-json",
        type=Path,
        action="append",
        default=[],
        help="reuse the notebook side from `notebook_reference --json` output",
    )
    parser.add_argument("--run-root", type=Path, help="keep trainlab's run directories here")
    parser.add_argument(
        "--from-json",
        type=Path,
        action="append",
        default=[],
        help="write the table from earlier --json outputs (merged by lesson and seed); runs nothing",
    )
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def run_lessons(args: argparse.Namespace) -> list[Row]:
    names = args.lesson or list(LESSONS)
    engines = args.engine or list(ENGINES)
    cache = read_notebook_json(args.notebook_json) if args.epochs is None else {}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lesson_table_") as scratch:
        run_root = args.run_root or Path(scratch)
        for name in names:
            seeds = args.seeds or default_seeds(name)
            rows.append(measure(name, seeds, engines, args.epochs, run_root, cache))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    doc = args.doc.read_text() if args.doc is not None and args.doc.is_file() else ""
    if args.doc is not None and (START not in doc or END not in doc):
        print(f"lesson_table: error: {args.doc} has no {START} ... {END} pair", file=sys.stderr)
        return 2  # before hours of training, not after
    rows = read_rows(args.from_json) if args.from_json else run_lessons(args)
    table = markdown(rows)
    print(table, end="")
    if args.output is not None:
        args.output.write_text(table)
    if args.doc is not None:
        args.doc.write_text(replace_between_markers(doc, table))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
