"""The README's lesson table: each lesson on both engines beside the notebook's own code.

A lesson is right when it lands where its notebook cell lands, so this runs both over
several seeds -- the notebook side through ``notebook_reference`` (which imports no
trainlab), trainlab's through ``trainlab.train`` on each engine -- and writes one row
per lesson: the means and ranges, the wall time of a run on each side, and whether each
engine's mean lies within the notebook's spread:

    |mean difference| <= max(2 x std of the notebook runs, 0.005 accuracy or 0.01 RMSE/MAE)

    python -m trainlab.lessons.lesson_table --lesson digits_dropout --output table.md
    python -m trainlab.lessons.lesson_table --readme          # rewrites README.md's table
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trainlab.lessons.notebook_reference import LESSONS, run_lesson, summarize

ENGINES = ("lightning", "keras")
ENGINE_TITLES = {"lightning": "Lightning", "keras": "Keras"}
SEEDS, MNIST_SEEDS = 5, 3  # an MNIST run takes minutes, so those lessons get fewer seeds
START, END = "<!-- lesson-table:start -->", "<!-- lesson-table:end -->"
QUIET = ("figures=false", "~callbacks.rich_progress_bar", "~callbacks.model_summary")


@dataclass
class Side:
    """One side's runs of a lesson: a value and a wall time per seed."""

    seeds: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, seed: int, value: float, seconds: float) -> None:
        self.seeds.append(seed)
        self.values.append(value)
        self.seconds.append(seconds)


@dataclass
class Row:
    """A lesson's line of the table: the notebook side and each engine."""

    lesson: str
    metric: str
    notebook: Side
    engines: dict[str, Side]

    def floor(self) -> float:
        """The smallest allowed difference: half an accuracy point, or 0.01 of a regression metric."""
        return 0.005 if self.metric.endswith("acc") else 0.01

    def tolerance(self) -> float:
        return max(2 * summarize(self.notebook.values)["std"], self.floor())

    def difference(self, engine: str) -> float:
        return summarize(self.engines[engine].values)["mean"] - summarize(self.notebook.values)["mean"]

    def agrees(self, engine: str) -> bool:
        return abs(self.difference(engine)) <= self.tolerance()  # NaN compares False


def merge_sides(sides: Sequence[Side]) -> Side:
    """One side from several runs of it, by seed; a later run's seed replaces an earlier's."""
    by_seed: dict[int, tuple[float, float]] = {}
    for side in sides:
        by_seed.update(
            {seed: (v, t) for seed, v, t in zip(side.seeds, side.values, side.seconds, strict=True)}
        )
    merged = Side()
    for seed in sorted(by_seed):
        merged.add(seed, *by_seed[seed])
    return merged


def read_rows(paths: Sequence[Path]) -> list[Row]:
    """The rows of earlier ``--json`` outputs, one per lesson, their seeds merged, in
    the order the lessons first appear.
    """
    parts: dict[str, list[Row]] = {}
    for path in paths:
        for item in json.loads(path.read_text()):
            engines = {name: Side(**side) for name, side in item["engines"].items()}
            row = Row(item["lesson"], item["metric"], Side(**item["notebook"]), engines)
            parts.setdefault(row.lesson, []).append(row)
    rows = []
    for lesson, runs in parts.items():
        names = list(dict.fromkeys(name for run in runs for name in run.engines))
        engines = {n: merge_sides([run.engines[n] for run in runs if n in run.engines]) for n in names}
        rows.append(Row(lesson, runs[0].metric, merge_sides([run.notebook for run in runs]), engines))
    return rows


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


def _spread(values: Sequence[float]) -> str:
    s = summarize(values)
    if math.isnan(s["mean"]):
        return "n/a"
    return f"{s['mean']:.4f} ({s['min']:.4f} to {s['max']:.4f}, {len(values)} seeds)"


def _seconds(values: Sequence[float]) -> str:
    return f"{sum(values) / len(values):.1f} s" if values else "-"


def markdown(rows: Sequence[Row]) -> str:
    """The table, with a line saying how it was measured and what 'within' means."""
    engines = list(dict.fromkeys(e for row in rows for e in row.engines)) or list(ENGINES)
    titles = [ENGINE_TITLES.get(engine, engine) for engine in engines]
    header = [
        "lesson",
        "notebook cell",
        "metric",
        "notebook code",
        *titles,
        "wall time per run",
        "within the notebook's spread",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lesson = LESSONS[row.lesson]
        times = " / ".join(
            [
                _seconds(row.notebook.seconds),
                *(_seconds(row.engines[e].seconds) if e in row.engines else "-" for e in engines),
            ]
        )
        verdicts = ", ".join(
            f"{title} {'yes' if row.agrees(e) else 'no'} (Δ {row.difference(e):+.4f})"
            for e, title in zip(engines, titles, strict=True)
            if e in row.engines
        )
        cells = [
            f"`{row.lesson}`",
            f"{lesson.notebook}: {lesson.cell}",
            f"{row.metric}",
            _spread(row.notebook.values),
            *(_spread(row.engines[e].values) if e in row.engines else "-" for e in engines),
            times,
            f"{verdicts}; tolerance {row.tolerance():.4f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "Mean (min to max, seeds from 0 up); mean wall time per run: notebook code / "
        + " / ".join(titles)
        + ". Within: |mean difference| ≤ max(2 x the notebook runs' standard deviation, "
        "0.005 accuracy or 0.01 RMSE/MAE). Measured with `python -m trainlab.lessons.lesson_table`."
    )
    return "\n".join([*lines, "", note]) + "\n"


def replace_between_markers(text: str, table: str) -> str:
    """``text`` with what lies between the lesson-table markers replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} ... {END} pair to put the table between")
    return text[: start + len(START)] + "\n" + table + text[end:]


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
        "seeds and write the README's lesson table.",
    )
    parser.add_argument(
        "--lesson",
        action="append",
        choices=sorted(LESSONS),
        metavar="NAME",
        help="a lesson (repeatable; default: all)",
    )
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
        "--readme",
        type=Path,
        nargs="?",
        const=Path("README.md"),
        help=f"put the table between {START} and {END} in this file (README.md)",
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
    readme = args.readme.read_text() if args.readme is not None and args.readme.is_file() else ""
    if args.readme is not None and (START not in readme or END not in readme):
        print(f"lesson_table: error: {args.readme} has no {START} ... {END} pair", file=sys.stderr)
        return 2  # before hours of training, not after
    rows = read_rows(args.from_json) if args.from_json else run_lessons(args)
    table = markdown(rows)
    print(table, end="")
    if args.output is not None:
        args.output.write_text(table)
    if args.readme is not None:
        args.readme.write_text(replace_between_markers(readme, table))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
