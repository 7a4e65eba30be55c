"""The lesson table's rows: each side's runs, earlier runs merged, and the markdown they make.

A row says whether each engine's mean lies within the notebook's spread:

    |mean difference| <= max(2 x std of the notebook runs, 0.005 accuracy or 0.01 RMSE/MAE)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trainlab.lessons.notebook_reference import LESSONS, summarize

ENGINES = ("lightning", "keras")
ENGINE_TITLES = {"lightning": "Lightning", "keras": "Keras"}
START, END = "<!-- lesson-table:start -->", "<!-- lesson-table:end -->"


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
