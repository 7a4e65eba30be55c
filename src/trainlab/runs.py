"""``python -m trainlab.runs [LOG_DIR]``: the runs and sweeps under a log directory.

It reads only what runs leave on disk and imports neither torch nor Hydra, so it is quick
and safe beside runs that are writing. Older runs lack ``run.json`` and a killed run may
leave a file half-written: such a run is still listed, with what can be read and a status
that says so (``incomplete``, ``corrupt``, ``killed``), as it is often the one looked for.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import re
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml  # type: ignore[import-untyped]
from omegaconf import DictConfig, ListConfig, OmegaConf

SKIPPED = frozenset({"checkpoints", "figures", ".hydra", "summary"})
SWEEP_FILES = frozenset({"multirun.yaml", "study.db", "trials.csv", "best.yaml"})
GROUPS = ("data", "model", "engine", "experiment")
COLUMNS = ("name", "data", "model", "engine", "seed", "status", "best metrics", "path")
STATUS_STYLES = {
    "finished": "green",
    "stopped_early": "green",
    "running": "yellow",
    "interrupted": "yellow",
    "pruned": "dim",
    "failed": "red",
    "killed": "red",
    "corrupt": "red",
}
_TIME_PREFIX = re.compile(r"^\d{2}-\d{2}-\d{2}_(?=.)")
_KEY = re.compile(r"^[A-Za-z_][\w./-]*$")
_MISSING = object()


class Corrupt(Exception):
    """A file that is there but cannot be read as what it should hold."""


@dataclass
class Row:
    """One run or sweep: ``record`` is what is shown, the rest is for filtering and order."""

    record: dict[str, Any]
    time: float
    config: DictConfig | None = None
    choices: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise Corrupt(f"{path.name}: {error}") from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise Corrupt(f"{path.name}: {error}") from None
    if not isinstance(value, dict):
        raise Corrupt(f"{path.name}: not a JSON object")
    return value


def _read_yaml(path: Path) -> DictConfig | None:
    if not path.exists():
        return None
    try:
        config = OmegaConf.load(path)
    except Exception as error:  # YAML or OmegaConf errors, unreadable file
        raise Corrupt(f"{path.name}: {str(error).splitlines()[0] if str(error) else error!r}") from None
    if not isinstance(config, DictConfig):
        raise Corrupt(f"{path.name}: not a mapping")
    return config


def _read_trials(path: Path) -> list[dict[str, str]] | None:
    try:
        with path.open(newline="") as handle:
            trials = list(csv.DictReader(handle))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise Corrupt(f"{path.name}: {error}") from None
    if trials and not {"state", "value"} <= trials[0].keys():
        raise Corrupt(f"{path.name}: no state and value columns")
    return trials


def _select(config: DictConfig | None, key: str) -> Any:
    """``key``'s value as plain Python: ``_MISSING`` if absent, None if only Hydra resolves it."""
    if config is None:
        return _MISSING
    try:
        value = OmegaConf.select(config, key, default=_MISSING, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig | ListConfig):
            try:
                return OmegaConf.to_container(value, resolve=True)
            except Exception:  # an interpolation of Hydra's own resolvers
                return OmegaConf.to_container(value, resolve=False)
    except Exception:
        return _MISSING
    return value


def _choices(config: DictConfig | None) -> dict[str, Any]:
    """The config group choices Hydra recorded (``data: digits``, ``model: mlp`` ...)."""
    choices = _select(config, "hydra.runtime.choices")
    return {str(key): value for key, value in choices.items()} if isinstance(choices, dict) else {}


def _time(started: Any, path: Path) -> float:
    """When the run started (a naive time is local), else its directory's last change."""
    if isinstance(started, str):
        try:
            return datetime.fromisoformat(started).astimezone().timestamp()
        except ValueError:
            pass
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _alive_status(info: dict[str, Any]) -> str:
    """``running`` as recorded, or ``killed`` if its process on this host is gone."""
    status = str(info["status"])
    pid = info.get("pid")
    if status != "running" or info.get("host") not in (None, socket.gethostname()):
        return status
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "killed"
    except OSError:  # PermissionError: alive, another user's
        pass
    return status


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _attempt(directory: Path, problems: list[str], read: Callable[[Path], Any], name: str) -> Any:
    """``read(directory / name)``; a corrupt file is noted in ``problems`` and read as None."""
    try:
        return read(directory / name)
    except Corrupt as error:
        problems.append(str(error))
        return None


def read_run(path: Path, sweep: str | None) -> Row:
    """A run directory as a row; an unreadable file makes it ``corrupt``, not an error."""
    problems: list[str] = []
    attempt = functools.partial(_attempt, path, problems)
    info = attempt(_read_json, "run.json")
    metrics = attempt(_read_json, "metrics.json") or {}
    config = attempt(_read_yaml, ".hydra/config.yaml")
    choices = _choices(attempt(_read_yaml, ".hydra/hydra.yaml"))
    if info is not None and not isinstance(info.get("status"), str):
        problems.append("run.json: no status")
    info = info or {}
    choices.update({group: info[group] for group in GROUPS if info.get(group) is not None})
    if problems:
        status = "corrupt"
    elif info:
        status = _alive_status(info)
    elif (path / "metrics.json").exists():
        status = str(metrics.get("status", "finished"))
    else:
        status = "incomplete"
    seed = info["seed"] if "seed" in info else _select(config, "seed")
    time = _time(info.get("started"), path)
    record = {
        "kind": "run",
        "name": str(info.get("name") or _TIME_PREFIX.sub("", path.name)),
        "sweep": sweep,
        "status": status,
        "started": _iso(time),
        **{group: choices.get(group) for group in GROUPS},
        "seed": None if seed is _MISSING else seed,
        "metrics": {k: v for k, v in metrics.items() if _number(v) and k != "epochs"},
        "stop_reason": info.get("stop_reason"),
        "error": "; ".join(problems) or info.get("error"),
        "path": _shown(path),
    }
    return Row(record, time, config, choices)


def read_sweep(path: Path, jobs: Sequence[Row]) -> Row:
    """A sweep as a row: its trials (Optuna) or jobs (Hydra multirun) and its best value."""
    problems: list[str] = []
    attempt = functools.partial(_attempt, path, problems)
    config = attempt(_read_yaml, "multirun.yaml")
    trials = attempt(_read_trials, "trials.csv")
    best = attempt(_read_yaml, "best.yaml")
    choices = _choices(config)
    if trials:
        status = _counted(len(trials), "trials", (t["state"].lower() for t in trials))
    else:
        status = _counted(len(jobs), "jobs", (job.record["status"] for job in jobs))
    seed = _select(config, "seed")
    time = min((job.time for job in jobs), default=None) or _time(None, path)
    record = {
        "kind": "sweep",
        "name": path.name,
        "sweep": None,
        "status": "corrupt" if problems else status,
        "started": _iso(time),
        **{group: choices.get(group) for group in GROUPS},
        "seed": None if seed is _MISSING else seed,
        "metrics": _best_value(config, trials or [], best),
        "stop_reason": None,
        "error": "; ".join(problems) or None,
        "path": _shown(path),
    }
    return Row(record, time, config, choices)


def _counted(total: int, noun: str, states: Iterator[str]) -> str:
    counts = Counter(states)
    detail = ", ".join(f"{count} {state}" for state, count in counts.most_common())
    return f"{total} {noun}: {detail}" if detail else f"{total} {noun}"


def _best_value(
    config: DictConfig | None, trials: list[dict[str, str]], best: DictConfig | None
) -> dict[str, float]:
    """``best.yaml``'s value, else the best complete trial's in the sweep's direction."""
    metric = _select(best, "optimized_metric")
    value = _select(best, "value")
    if isinstance(metric, str) and _number(value):
        return {metric: float(value)}
    values = []
    for trial in trials:
        try:
            if trial["state"] == "COMPLETE" and trial["value"]:
                values.append(float(trial["value"]))
        except ValueError:
            continue
    if not values:
        return {}
    metric = _select(config, "optimized_metric")
    pick = max if _select(config, "hydra.sweeper.direction") == "maximize" else min
    return {metric if isinstance(metric, str) else "value": pick(values)}


def _iso(time: float) -> str:
    return datetime.fromtimestamp(time).astimezone().isoformat(timespec="seconds")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _entries(directory: Path) -> dict[str, os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return {entry.name: entry for entry in entries}
    except OSError:
        return {}


def _groups(directory: Path, sweep: str | None) -> list[list[Row]]:
    """Every run and sweep under ``directory``: a run alone, a sweep followed by its jobs."""
    entries = _entries(directory)
    hydra = entries.get(".hydra")
    if hydra is not None and hydra.is_dir():
        groups = [[read_run(directory, sweep)]]
    elif SWEEP_FILES & entries.keys():
        jobs = [row for group in _below(entries, directory.name) for row in group]
        jobs.sort(key=_newest_first)
        return [[read_sweep(directory, jobs), *jobs]]
    else:
        groups = []
    return groups + _below(entries, sweep)


def _below(entries: dict[str, os.DirEntry[str]], sweep: str | None) -> list[list[Row]]:
    return [
        group
        for name, entry in sorted(entries.items())
        if name not in SKIPPED and entry.is_dir(follow_symlinks=False)
        for group in _groups(Path(entry.path), sweep)
    ]


def _newest_first(row: Row) -> tuple[float, str]:
    return (-row.time, row.record["path"])


def collect(log_dir: Path) -> list[Row]:
    """The rows under ``log_dir``, newest first; a sweep's jobs right after the sweep."""
    groups = _groups(log_dir.absolute(), None)
    groups.sort(key=lambda group: _newest_first(group[0]))
    return [row for group in groups for row in group]


def _canonical(value: Any) -> str:
    """A value as text, numbers by value: ``1e-3``, ``0.001`` and ``1.0e-3`` are one."""
    if isinstance(value, str):
        try:
            return repr(float(value))
        except ValueError:
            return value
    if _number(value):
        return repr(float(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_canonical, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_canonical(v)}" for k, v in value.items()) + "}"
    return str(value)


def matches(row: Row, key: str, wanted: Any) -> bool:
    """``--where``: a group choice (``data``), a config key (``optimizer.lr``), else a column."""
    value = row.choices[key] if key in row.choices else _select(row.config, key)
    if value is _MISSING:
        value = row.record.get(key, _MISSING)
    return value is not _MISSING and _canonical(value) == _canonical(wanted)


def format_metrics(metrics: dict[str, Any]) -> str:
    """``val/acc=0.9741 test/acc=0.9611``: validation first, then test, then the rest."""
    order = {"val": 0, "test": 1}
    names = sorted(metrics, key=lambda name: (order.get(name.split("/")[0], 2), name))
    return " ".join(f"{name}={_short(metrics[name])}" for name in names)


def _short(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def print_table(rows: Sequence[Row]) -> None:
    """The rows as a rich table, every cell literal (names may hold ``[...]``)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for column in COLUMNS:
        table.add_column(column, overflow="fold" if column == "path" else "ellipsis")
    for row in rows:
        r = row.record
        cells = [r["name"], r["data"], r["model"], r["engine"], r["seed"]]
        table.add_row(
            *(Text("" if cell is None else str(cell)) for cell in cells),
            Text(r["status"], style=STATUS_STYLES.get(r["status"], "")),
            Text(format_metrics(r["metrics"])),
            Text(r["path"]),
            style="bold" if r["kind"] == "sweep" else None,
        )
    console = Console()
    if not console.is_terminal:  # a pipe or a file: 80 columns would fold every cell
        console.width = max(console.width, 160)
    console.print(table)


def summarize(rows: Sequence[Row], metric: str) -> dict[str, Any]:
    """``metric`` over the runs among ``rows`` that have it: the seeds of one setup compared
    as one number with its spread, not one lucky run.
    """
    values = [
        float(row.record["metrics"][metric])
        for row in rows
        if row.record["kind"] == "run" and _number(row.record["metrics"].get(metric))
    ]
    if not values:
        return {"metric": metric, "runs": 0}
    mean = sum(values) / len(values)
    spread = (
        math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    )
    return {
        "metric": metric,
        "runs": len(values),
        "mean": mean,
        "std": spread,
        "min": min(values),
        "max": max(values),
    }


def summary_line(summary: dict[str, Any]) -> str:
    if not summary["runs"]:
        return f"{summary['metric']}: no run has it"
    return (
        f"{summary['metric']} over {summary['runs']} runs: mean {summary['mean']:.4f} "
        f"(min {summary['min']:.4f}, max {summary['max']:.4f}, std {summary['std']:.4f})"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, as every trainlab command reports a mistake."""
        self.exit(2, f"trainlab: error: {message}\n")


def _where(text: str) -> tuple[str, Any]:
    key, equals, value = text.partition("=")
    if not equals or not _KEY.match(key):
        raise argparse.ArgumentTypeError(f"KEY=VALUE wanted (e.g. data=digits), not {text!r}")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value is not YAML") from None


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a number of rows wanted, not {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m trainlab.runs",
        description="The runs and sweeps under a log directory, newest first.",
    )
    parser.add_argument("log_dir", nargs="?", default="outputs", help="default: outputs")
    parser.add_argument("--json", action="store_true", help="a JSON list on stdout")
    parser.add_argument(
        "--where",
        type=_where,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep rows whose config has it: data=digits, optimizer.lr=0.01, seed=42 (repeatable)",
    )
    parser.add_argument("--status", help="keep rows of this status: finished, failed, killed ...")
    parser.add_argument("--limit", type=_count, metavar="N", help="the N newest rows")
    parser.add_argument(
        "--summary",
        metavar="METRIC",
        help="after the table, METRIC's mean, min, max and std over the listed runs (e.g. test/acc)",
    )
    args = parser.parse_args(argv)
    log_dir = Path(args.log_dir)
    if not log_dir.is_dir():
        parser.error(f"{log_dir}: {'not a directory' if log_dir.exists() else 'no such directory'}")
    rows = [
        row
        for row in collect(log_dir)
        if all(matches(row, key, value) for key, value in args.where)
        and (args.status is None or row.record["status"] == args.status)
    ][: args.limit]
    summary = summarize(rows, args.summary) if args.summary else None
    if args.json:
        listed: Any = [row.record for row in rows]
        print(
            json.dumps(
                {"runs": listed, "summary": summary} if summary else listed, indent=2, default=str
            )
        )
        return 0
    if rows:
        print_table(rows)
    else:
        print(f"no runs under {log_dir}")
    if summary is not None:
        print(summary_line(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
