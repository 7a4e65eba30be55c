"""What every benchmark shares: its command line, its repetitions and its JSON result.

Standard library only, so the benchmarks that time whole ``train.py`` processes import
nothing heavy themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def split_options(
    argv: Sequence[str], own_defaults: Mapping[str, Any], usage: str
) -> tuple[dict[str, Any], list[str]]:
    """The benchmark's own ``key=value`` options, and the rest as trainlab overrides.

    ``-h``/``--help`` prints ``usage`` and exits, rather than reaching Hydra as an override.
    """
    if any(arg in ("-h", "--help") for arg in argv):
        print(usage.strip())
        sys.exit(0)
    own = dict(own_defaults)
    overrides: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in own:
            own[key] = value
        else:
            overrides.append(arg)
    return own, overrides


def command_line(module: str, argv: Sequence[str]) -> str:
    """How to run the benchmark again, for its JSON result."""
    return " ".join(["python", "-m", module, *argv])


def write_result(output: Path, result: Mapping[str, Any]) -> None:
    """Write a benchmark's result as indented JSON (creating its folder) and say where."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {output}")


def summary(runs: Sequence[float], target: float | None = None) -> dict[str, Any]:
    """Median, range and every run; with a ``target`` (an upper bound), whether it is met."""
    median = statistics.median(runs)
    result: dict[str, Any] = {"median": median, "min": min(runs), "max": max(runs), "runs": list(runs)}
    if target is not None:
        result.update(target=target, met=median <= target)
    return result


class Unavailable(Exception):
    """A row that cannot run here; the table and JSON say why."""


@dataclass
class Row:
    """One row's timed repetitions, or why it could not run."""

    name: str
    seconds: list[float] = field(default_factory=list)
    unavailable: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def rotations(names: Sequence[str], rounds: int) -> list[list[str]]:
    """The order of each round: rotated by one each round, so no row always follows the
    same neighbour (a noisy neighbour then slows every row alike)."""
    return [[*names[r % len(names) :], *names[: r % len(names)]] for r in range(rounds)]


def interleaved(
    measures: Mapping[str, Callable[[int], float]], warmup: int, reps: int
) -> dict[str, Row]:
    """Warm-up rounds, then ``reps`` rounds; each round runs every row once (``measure(round)``
    returns seconds). A row that raises ``Unavailable`` stops and keeps the reason."""
    rows = {name: Row(name) for name in measures}
    for round_, order in enumerate(rotations(list(measures), warmup + reps)):
        for name in order:
            row = rows[name]
            if row.unavailable is not None:
                continue
            try:
                seconds = measures[name](round_)
            except Unavailable as reason:
                row.unavailable = str(reason)
                continue
            if round_ >= warmup:
                row.seconds.append(seconds)
    return rows


def take_flag(argv: Sequence[str], flag: str) -> tuple[bool, list[str]]:
    """Whether ``flag`` (e.g. ``--json``) is in ``argv``, and the other arguments."""
    rest = [arg for arg in argv if arg != flag]
    return len(rest) < len(argv), rest


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout meanwhile to stderr, Python's and the libraries'
    own (progress bars, Keras' epoch lines, C code), so that stdout carries only JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def print_json(result: Mapping[str, Any]) -> None:
    """The result on stdout, as ``write_result`` writes it to its file (``--json``)."""
    print(json.dumps(result, indent=2), flush=True)
