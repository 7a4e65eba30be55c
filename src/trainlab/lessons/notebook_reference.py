"""Run the classroom notebooks' own code for trainlab's lessons, seed by seed, timed.

The cells themselves are in ``trainlab.lessons.reference`` (one module per notebook);
this is their command line and the timing that ``lesson_table`` builds on:

    python -m trainlab.lessons.notebook_reference --lesson digits_dropout --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache

from trainlab.lessons.reference import LESSONS
from trainlab.lessons.reference.common import load_housing, load_mnist
from trainlab.lessons.reference.notebook_004 import load_digits

__all__ = ["LESSONS", "Result", "add_lesson_option", "main", "run_lesson", "summarize"]


@dataclass
class Result:
    """One seed of one lesson, as printed and as written by ``--json``."""

    lesson: str
    seed: int
    metric: str
    value: float
    seconds: float
    epochs: int
    extra: dict[str, float]


@cache
def prepare(name: str, warm_up: bool = True) -> None:
    """Import the libraries, read the data files and warm the libraries up (one epoch on a
    few samples), once per process, outside the timed runs.

    The notebooks' ``%%time`` cells time the training, not the imports, the download or
    the first call's set-up; without this the first seed's time would carry them.
    """
    import sklearn.model_selection
    import sklearn.preprocessing  # noqa: F401

    if name.startswith("mnist"):
        load_mnist()
    elif name.startswith("housing"):
        load_housing()
    elif name.startswith("digits"):
        load_digits()
    if LESSONS[name].notebook != "004":
        import keras  # noqa: F401
    if warm_up:  # a quick check (--limit) does not time anything worth it
        LESSONS[name].run(0, 1, 64)


def run_lesson(name: str, seed: int, epochs: int | None = None, limit: int | None = None) -> Result:
    """One seed of one lesson's notebook cell, timed from the split to the reported number."""
    lesson = LESSONS[name]
    prepare(name, warm_up=limit is None)
    start = time.perf_counter()
    outcome = lesson.run(seed, epochs if epochs is not None else lesson.epochs, limit)
    seconds = time.perf_counter() - start
    return Result(name, seed, lesson.metric, outcome.value, seconds, outcome.epochs, outcome.extra)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one run), min and max of a lesson's runs."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return {"mean": statistics.fmean(finite), "std": std, "min": min(finite), "max": max(finite)}


def add_lesson_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--lesson NAME``, repeatable, one of the lessons with a notebook cell to compare."""
    parser.add_argument(
        "--lesson", action="append", choices=sorted(LESSONS), metavar="NAME", help=help_text
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainlab.lessons.notebook_reference",
        description="Run the classroom notebooks' own code for trainlab's lessons; print each "
        "seed's number (as the notebook reports it) and its wall time.",
    )
    add_lesson_option(parser, f"a lesson (repeatable; default: all): {', '.join(LESSONS)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of the notebook's")
    parser.add_argument("--limit", type=int, help="only the first N training samples (quick checks)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    for option in ("epochs", "limit"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.lesson or list(LESSONS)
    results: list[Result] = []
    for name in names:
        lesson = LESSONS[name]
        if not args.json:
            print(f"{name}  (notebook {lesson.notebook}: {lesson.cell}; {lesson.reports})")
        for seed in args.seeds:
            result = run_lesson(name, seed, args.epochs, args.limit)
            results.append(result)
            if not args.json:
                print(
                    f"  seed {seed}: {lesson.metric} {result.value:.4f}  "
                    f"({result.epochs} epochs, {result.seconds:.1f} s)",
                    flush=True,
                )
        if not args.json and len(args.seeds) > 1:
            s = summarize([r.value for r in results if r.lesson == name])
            print(f"  mean {s['mean']:.4f}  std {s['std']:.4f}  min {s['min']:.4f}  max {s['max']:.4f}")
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
