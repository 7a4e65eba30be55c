"""Rewrite the generated sections of ``docs/results.md`` from the benchmarks' JSON results.

    python -m benchmarks.report [--bench-dir bench] [--output docs/results.md]

``make bench`` runs it after the benchmarks. Each benchmark that writes JSON has a section
in the document between two marker comments::

    <!-- generated: epoch -->
    ... replaced by the tables of bench/epoch.json ...
    <!-- end: epoch -->

Only the text between a pair of markers is rewritten, and only when its JSON file exists;
everything else in the document (the hand-written measurements, the prose) stays as it
is. The tables show medians with their range, the ratios and targets, the machine and
the exact command that produced them. Standard library only: reading the JSON files
imports nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.machine import host

Result = Mapping[str, Any]

#: Targets of the epoch benchmark's ratios of medians, by result file: (comparison, bound).
#: Each engine against the same library's plain code, and the Lightning engine against a
#: hand-written loop: 1.10 on MNIST, 1.3 on the digits lesson's network at batch 20,
#: where a step is a tenth of a millisecond.
EPOCH_TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    "epoch.json": {"trainlab/raw": ("<=", 1.10), "keras/keras_plain": ("<=", 1.05)},
    "epoch_digits.json": {"trainlab/raw": ("<=", 1.3), "keras/keras_plain": ("<=", 1.05)},
}
#: The epoch benchmark's rows (``rows`` keys), as the ratios name them.
ROW_NAMES = {
    "raw": "raw loop",
    "lightning_plain": "plain Lightning",
    "trainlab": "Lightning engine",
    "keras_plain": "plain Keras fit",
    "keras": "Keras engine",
    "per_sample": "per-sample DataLoader",
    "floor": "compute floor",
}
#: The step-overhead benchmark's parts (``cost_us_per_step`` keys), as the table names them.
PART_LABELS = {
    "lightning loop": "Lightning's fit loop with no callbacks and no logger, beyond the raw loop",
    "early_stopping": "+ EarlyStopping",
    "model_checkpoint": "+ ModelCheckpoint",
    "rich_progress_bar": "+ rich progress bar (throttled)",
    "model_summary": "+ model summary",
    "logger": "+ TensorBoard logger",
    "keras loop": "Keras' `fit` loop with no callbacks of ours, beyond the raw loop",
    "keras engine callbacks and logging": "+ the Keras engine's callbacks and logging",
}
STARTUP_LABELS = {
    "first_step_s": "`python train.py{overrides}`: process start to the first training step",
    "bad_override_s": "`python train.py{overrides} model=nope` rejected",
    "bad_value_s": "`python train.py{overrides} optimizer.lr=-1` rejected",
    "import_lightning_s": '`python -c "import lightning.pytorch"` (reference)',
}
PACKAGES = ("torch", "lightning", "keras")
COMPARISONS = {"<=": "\u2264", ">=": "\u2265", "<": "<"}
MET = {True: "\u2713", False: "\u2717"}  # check mark, ballot x
TIMES = "\u00d7"  # multiplication sign
MICRO = "\u00b5"


class ReportError(Exception):
    """A result file or the document cannot be used; the message is one line."""


# Formatting -----------------------------------------------------------------------------


def number(value: Any, digits: int, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (and its sign), or a dash when the benchmark has none."""
    if not isinstance(value, int | float):
        return "-"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


def plural(count: Any, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def percent(fraction: Any) -> float | None:
    return 100 * float(fraction) if isinstance(fraction, int | float) else None


def with_range(summary: Mapping[str, Any], digits: int, unit: str = "") -> str:
    """``median (min-max)`` of a benchmark's ``{median, min, max}`` summary."""
    median, low, high = (number(summary.get(key), digits) for key in ("median", "min", "max"))
    return f"{median}{unit} ({low}-{high})"


def target_text(comparison: str, bound: float, value: Any, unit: str = "") -> str:
    """``<= 1.3 ✓``: the target and whether ``value`` meets it."""
    shown = f"{COMPARISONS[comparison]} {bound:g}{unit}"
    if not isinstance(value, int | float):
        return shown
    met = {
        "<=": value <= bound,
        ">=": value >= bound,
        "<": value < bound,
    }[comparison]
    return f"{shown} {MET[met]}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def short_name(target: Any) -> str:
    """``trainlab.data.mnist.MNISTDataModule`` -> ``MNISTDataModule``."""
    return str(target).rsplit(".", 1)[-1]


def this_machine() -> dict[str, Any]:
    """This machine as ``benchmarks.machine`` records one, without importing torch."""
    return host()


def describe_machine(machine: Mapping[str, Any]) -> str:
    parts = [str(machine.get("cpu", "unknown CPU"))]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("torch_threads"):
        parts.append(f"{machine['torch_threads']} torch threads")
    if machine.get("device"):
        parts.append(f"device {machine['device']}")
    versions = [f"Python {machine['python']}"] if machine.get("python") else []
    versions += [f"{name} {machine[name]}" for name in PACKAGES if machine.get(name)]
    return ", ".join(parts) + (f"; {', '.join(versions)}" if versions else "")


def machine_line(result: Result, file_name: str) -> str:
    """Where the result was measured: its own record, else the machine writing the report."""
    recorded = result.get("machine")
    if isinstance(recorded, Mapping):
        return f"Measured on: {describe_machine(recorded)}."
    return (
        f"Measured on: not recorded in `{file_name}`; `benchmarks.report` ran on "
        f"{describe_machine(this_machine())}."
    )


def command_line(result: Result, file_name: str) -> str:
    command = result.get("command", "python -m benchmarks.<name>")
    return f"Command: `{command}` (writes `bench/{file_name}`)."


# Sections -------------------------------------------------------------------------------


def epoch_section(result: Result, file_name: str = "epoch.json") -> list[str]:
    config: Mapping[str, Any] = result.get("config", {})
    rows: Mapping[str, Mapping[str, Any]] = result.get("rows", {})
    raw = rows.get("raw", {}).get("seconds_per_epoch", {}).get("median")
    lines = [
        command_line(result, file_name),
        "",
        machine_line(result, file_name),
        "",
        f"{short_name(config.get('data'))}, {config.get('layers')} {config.get('activation')}, "
        f"batch {config.get('batch_size')}, {short_name(config.get('optimizer'))}: "
        f"{config.get('train_samples', 0):,} training + {config.get('val_samples', 0):,} validation "
        f"samples per epoch; median of {config.get('reps')} rounds after "
        f"{plural(config.get('warmup'), 'warm-up round')}.",
        "",
    ]
    body = []
    for row in rows.values():
        seconds: Mapping[str, Any] = row.get("seconds_per_epoch", {})
        median = seconds.get("median")
        if not row.get("available", True) or not isinstance(median, int | float):
            body.append([str(row.get("label")), f"not available: {row.get('reason')}", "", ""])
            continue
        samples = row.get("samples_per_second")
        body.append(
            [
                str(row.get("label")),
                with_range(seconds, 3),
                f"{samples:,.0f}" if isinstance(samples, int | float) else "-",
                number(median / raw, 2) if isinstance(raw, int | float) and raw else "-",
            ]
        )
    lines += table(["row", "s/epoch, median (min-max)", "samples/s", f"{TIMES} raw"], body)
    ratios: Mapping[str, Any] = result.get("ratios", {})
    ratio_rows = []
    for name, value in ratios.items():
        top, _, bottom = name.partition("/")
        compares = f"{ROW_NAMES.get(top, top)} / {ROW_NAMES.get(bottom, bottom)}"
        target = EPOCH_TARGETS.get(file_name, {}).get(name)
        shown_target = target_text(*target, value) if target else ""
        ratio_rows.append([compares, number(value, 2), shown_target])
    lines += ["", *table(["ratio of medians", "measured", "target"], ratio_rows)]
    return [*lines, *engine_overhead_lines(result)]


def engine_overhead_lines(result: Result) -> list[str]:
    """What each engine adds over its library's plain code; nothing for a result without it."""
    overhead: Mapping[str, Mapping[str, Any]] = result.get("engine_overhead", {})
    if not overhead:
        return []
    steps = result.get("config", {}).get("train_steps")
    body = [
        [
            ROW_NAMES.get(str(extra.get("engine_row")), str(extra.get("engine_row"))),
            ROW_NAMES.get(str(extra.get("plain_row")), str(extra.get("plain_row"))),
            number(extra.get("ms_per_epoch"), 1, sign=True),
            number(extra.get("us_per_step"), 0, sign=True),
        ]
        for extra in overhead.values()
    ]
    return [
        "",
        f"What each engine adds over its library's plain code: the difference of the medians, "
        f"per epoch and per training step ({steps} steps an epoch, validation included).",
        "",
        *table(["engine", "over", "ms per epoch", f"{MICRO}s per step"], body),
    ]


def epoch_digits_section(result: Result) -> list[str]:
    return epoch_section(result, "epoch_digits.json")


def step_overhead_section(result: Result) -> list[str]:
    us: Mapping[str, Any] = result.get("us_per_step", {})
    costs: Mapping[str, Any] = result.get("cost_us_per_step", {})
    runs: Mapping[str, Any] = result.get("runs_s", {})
    reps = max((len(r) for r in runs.values() if isinstance(r, list)), default=0)
    lines = [
        command_line(result, "step_overhead.json"),
        "",
        machine_line(result, "step_overhead.json"),
        "",
        f"64-10 linear model on digits in batches of 4, {result.get('steps_per_epoch')} steps an "
        f"epoch (validation included); each row the median of {reps} epochs; a part's cost is "
        "its row minus the row it adds to.",
        "",
    ]
    body = [["raw loop (all of it: indexing, forward, backward, step)", number(us.get("raw"), 0)]]
    body += [[PART_LABELS.get(name, name), f"{float(cost):,.0f}"] for name, cost in costs.items()]
    body += [
        [f"{name}: not available ({reason})", "-"]
        for name, reason in result.get("unavailable", {}).items()
    ]
    return [*lines, *table(["part", f"{MICRO}s per step"], body)]


def epoch_overhead_section(result: Result) -> list[str]:
    config: Mapping[str, Any] = result.get("config", {})
    rows: Mapping[str, Mapping[str, Any]] = result.get("rows", {})
    parts: Mapping[str, Mapping[str, Any]] = result.get("parts", {})
    lines = [
        command_line(result, "epoch_overhead.json"),
        "",
        machine_line(result, "epoch_overhead.json"),
        "",
        f"`experiment={config.get('lesson')}`: {config.get('layers')} {config.get('activation')}, "
        f"{short_name(config.get('optimizer'))}, batch {config.get('batch_size')} (the whole "
        f"{config.get('train_samples', 0):,}-sample training split: one step an epoch), "
        f"{config.get('val_samples', 0):,} validation samples. Each row: its run of "
        f"{config.get('epochs')} epochs minus its run of {config.get('short')}, over the "
        f"difference; median of {plural(config.get('reps'), 'round')} after "
        f"{plural(config.get('warmup'), 'warm-up round')}.",
        "",
    ]
    body = []
    for row in rows.values():
        times: Mapping[str, Any] = row.get("ms_per_epoch", {})
        median, low, high = (number(times.get(key), 2) for key in ("median", "min", "max"))
        body.append([str(row.get("label")), f"{median} ms ({low} to {high})"])
    body += [
        [f"{name}: not available ({reason})", "-"]
        for name, reason in result.get("unavailable", {}).items()
    ]
    costs = [
        [str(part.get("label")), f"{number(part.get('ms_per_epoch'), 2, sign=True)} ms"]
        for part in parts.values()
    ]
    return [
        *lines,
        *table(["row", "per epoch, median (min-max)"], body),
        "",
        *table(["part: a row minus the row it adds to", "per epoch"], costs),
    ]


def startup_section(result: Result) -> list[str]:
    overrides = " ".join(result.get("overrides", []))
    shown = f" {overrides}" if overrides else ""
    runs = len(result.get("first_step_s", {}).get("runs", []))
    lines = [
        command_line(result, "startup.json"),
        "",
        machine_line(result, "startup.json"),
        "",
        f"{runs} runs of each measure, interleaved; every run a fresh process.",
        "",
    ]
    body = []
    for key, label in STARTUP_LABELS.items():
        summary: Mapping[str, Any] = result.get(key, {})
        target = summary.get("target")
        shown_target = target_text("<=", float(target), summary.get("median"), " s") if target else ""
        body.append([label.format(overrides=shown), with_range(summary, 2, " s"), shown_target])
    return [*lines, *table(["measure", "median (min-max)", "target"], body)]


def figures_section(result: Result) -> list[str]:
    overrides = " ".join(result.get("overrides", []))
    runs = len(result.get("run_with_figures_s", {}).get("runs", []))
    lines = [
        command_line(result, "figures.json"),
        "",
        machine_line(result, "figures.json"),
        "",
        f"`python train.py {overrides}` with `figures=true` and `figures=false` alternating, "
        f"{runs} runs each, whole processes timed from spawn to exit; the drawing time is the "
        "run's own log line.",
        "",
    ]
    fraction, paired = (
        percent(result.get("drawing_fraction")),
        percent(result.get("paired_difference_fraction")),
    )
    limit = percent(result.get("target_fraction"))
    target = target_text("<", limit, fraction, "%") if limit is not None else ""
    body = [
        ["run with `figures=true`", with_range(result.get("run_with_figures_s", {}), 2, " s"), ""],
        ["run with `figures=false`", with_range(result.get("run_without_figures_s", {}), 2, " s"), ""],
        ["drawing, timed inside the run", with_range(result.get("drawing_s", {}), 2, " s"), ""],
        ["drawing / run with figures", f"{number(fraction, 1)}%", target],
        ["paired wall difference (on - off) / off", f"{number(paired, 1, sign=True)}%", ""],
    ]
    return [*lines, *table(["measure", "median (min-max)", "target"], body)]


def byte_count(count: Any) -> str:
    return f"{count:,}" if isinstance(count, int) else "-"


def event_files_row(label: str, files: Mapping[str, Any]) -> list[str]:
    kinds: Mapping[str, Any] = files.get("by_kind", {})
    parts = ", ".join(f"{kind} {byte_count(count)}" for kind, count in kinds.items())
    return [label, str(files.get("files", "-")), byte_count(files.get("bytes")), parts]


def signed_range(summary: Mapping[str, Any]) -> str:
    """``+0.10 s (-0.44 to +0.19)``: a range that crosses zero stays readable."""
    median, low, high = (number(summary.get(key), 2, sign=True) for key in ("median", "min", "max"))
    return f"{median} s ({low} to {high})"


def dashboard_section(result: Result) -> list[str]:
    dashboard: Mapping[str, Any] = result.get("dashboard", {})
    starts = len(dashboard.get("runs_shown_s", {}).get("runs", []))
    pairs = len(result.get("paired_difference_s", {}).get("runs", []))
    overrides = " ".join(result.get("overrides", []))
    logged = " ".join(dashboard.get("log_dir_overrides", []))
    lines = [
        command_line(result, "dashboard.json"),
        "",
        machine_line(result, "dashboard.json"),
        "",
        f"`make dashboard`'s command started {plural(starts, 'time')} on a log directory of "
        f"{dashboard.get('log_dir_runs')} runs (`{logged}`) and stopped by its PID; "
        f"`trainlab.train` of `{overrides}` in one process, with and without "
        f"`logger.tensorboard`, {plural(pairs, 'pair')}; all interleaved.",
        "",
    ]
    fraction, logger = percent(result.get("difference_fraction")), percent(result.get("logger_fraction"))
    limit = percent(result.get("target_fraction"))
    target = target_text("<", limit, fraction, "%") if limit is not None else ""
    body = [
        [
            "dashboard start to its first answer",
            with_range(dashboard.get("first_answer_s", {}), 2, " s"),
            "",
        ],
        [
            "dashboard start to every run and its HPARAMS session shown",
            with_range(dashboard.get("runs_shown_s", {}), 2, " s"),
            "",
        ],
        ["run with TensorBoard", with_range(result.get("run_with_tensorboard_s", {}), 2, " s"), ""],
        [
            "run with `~logger.tensorboard`",
            with_range(result.get("run_without_tensorboard_s", {}), 2, " s"),
            "",
        ],
        ["paired difference (with - without)", signed_range(result.get("paired_difference_s", {})), ""],
        ["paired difference / run with TensorBoard", f"{number(fraction, 1, sign=True)}%", target],
        [
            "the logger's own calls, timed inside the run",
            with_range(result.get("logger_calls_s", {}), 3, " s"),
            "",
        ],
        ["the logger's own calls / run with TensorBoard", f"{number(logger, 2)}%", ""],
        [
            "importing TensorBoard's modules, once per `train.py` process",
            with_range(result.get("tensorboard_imports_s", {}), 2, " s"),
            "",
        ],
    ]
    files: Mapping[str, Any] = result.get("event_files", {})
    sizes = [
        event_files_row("run directory: curves, config text, figures", files.get("run", {})),
        event_files_row("`summary/`: HPARAMS session, final metrics", files.get("summary", {})),
        ["both", "", byte_count(files.get("total_bytes")), ""],
    ]
    return [
        *lines,
        *table(["measure", "median (min-max)", "target"], body),
        "",
        f"The event files of the first run with TensorBoard (`{overrides}`):",
        "",
        *table(["event files", "files", "bytes", "bytes by kind"], sizes),
    ]


def scale_out_section(result: Result) -> list[str]:
    config: Mapping[str, Any] = result.get("config", {})
    rows: Mapping[str, Mapping[str, Any]] = result.get("rows", {})
    overrides = " ".join(config.get("overrides", []))
    lines = [
        command_line(result, "scale_out.json"),
        "",
        machine_line(result, "scale_out.json"),
        "",
        f"`python train.py -m {overrides}` in each setup, into a fresh directory; wall time "
        "from the first process spawned to the last one's exit (start-up and report "
        "included), one run each.",
        "",
    ]
    body = []
    for row in rows.values():
        if not row.get("available", True):
            body.append([str(row.get("label")), f"not available: {row.get('reason')}", "", "", ""])
            continue
        wall: Mapping[str, Any] = row.get("wall_s", {})
        trial: Mapping[str, Any] = row.get("trial_s") or {}
        body.append(
            [
                str(row.get("label")),
                f"{number(wall.get('median'), 1)} s",
                str(row.get("trials", "-")),
                number(row.get("trials_per_minute"), 1),
                with_range(trial, 1, " s") if trial else "-",
            ]
        )
    speedup, postgres = result.get("joblib_speedup"), result.get("postgres_vs_sqlite")
    ratios = [
        [f"basic / joblib wall time ({config.get('jobs')} at a time)", f"{number(speedup, 2)}{TIMES}"],
        ["PostgreSQL / SQLite trials per minute, two workers", f"{number(postgres, 2)}{TIMES}"],
    ]
    return [
        *lines,
        *table(["setup", "wall time", "trials", "trials/min", "a trial, median (min-max)"], body),
        "",
        *table(["ratio", "measured"], ratios),
    ]


#: Section name -> how its JSON (``bench/<name>.json``) becomes markdown.
SECTIONS: dict[str, Callable[[Result], list[str]]] = {
    "epoch": epoch_section,
    "epoch_digits": epoch_digits_section,
    "step_overhead": step_overhead_section,
    "epoch_overhead": epoch_overhead_section,
    "startup": startup_section,
    "figures": figures_section,
    "dashboard": dashboard_section,
    "scale_out": scale_out_section,
}


# The document ---------------------------------------------------------------------------


def markers(name: str) -> tuple[str, str]:
    return f"<!-- generated: {name} -->", f"<!-- end: {name} -->"


def replace_section(text: str, name: str, body: str) -> str | None:
    """``text`` with the lines between ``name``'s markers replaced; None without the markers."""
    start_marker, end_marker = markers(name)
    start = text.find(start_marker)
    end = text.find(end_marker, start + len(start_marker)) if start >= 0 else -1
    if end < 0:
        return None
    return f"{text[: start + len(start_marker)]}\n{body.rstrip()}\n{text[end:]}"


def read_result(path: Path) -> Result:
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ReportError(f"cannot read {path}: {error}") from None
    if not isinstance(result, dict):
        raise ReportError(f"{path} is not a benchmark result (expected a JSON object)")
    return result


def render(name: str, result: Result, path: Path) -> str:
    try:
        return "\n".join(SECTIONS[name](result))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ReportError(f"{path} does not look like {name}'s result: {error!r}") from None


def update(bench_dir: Path, output: Path) -> tuple[list[str], list[str]]:
    """Rewrite ``output``'s generated sections from ``bench_dir``; (updated, left) section names.

    A section whose JSON file does not exist is left as it is. Raises ``ReportError`` when
    ``output`` is missing, a result is unreadable, or a result has no section to go to.
    """
    if not output.is_file():
        raise ReportError(f"{output} does not exist")
    text = output.read_text()
    updated, left, no_section = [], [], []
    for name in SECTIONS:
        path = bench_dir / f"{name}.json"
        if not path.is_file():
            left.append(name)
            continue
        replaced = replace_section(text, name, render(name, read_result(path), path))
        if replaced is None:
            no_section.append(name)
            continue
        text = replaced
        updated.append(name)
    if updated:
        output.write_text(text)
    if no_section:
        wanted = ", ".join(" ... ".join(markers(name)) for name in no_section)
        raise ReportError(f"{output} has no section for {', '.join(no_section)}: add {wanted}")
    return updated, left


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Rewrite the generated sections of the results document from bench/*.json.",
    )
    parser.add_argument("--bench-dir", type=Path, default=Path("bench"), help="default: bench")
    parser.add_argument(
        "--output", type=Path, default=Path("docs/results.md"), help="default: docs/results.md"
    )
    args = parser.parse_args(argv)
    try:
        updated, left = update(args.bench_dir, args.output)
    except ReportError as error:
        print(f"benchmarks.report: error: {error}", file=sys.stderr)
        return 1
    done = f"updated {', '.join(updated)}" if updated else "nothing updated"
    kept = f"; left as they were (no {args.bench_dir}/<name>.json): {', '.join(left)}" if left else ""
    print(f"{args.output}: {done}{kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
