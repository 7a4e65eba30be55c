"""``python -m trainlab.runs``: the run index, read from hand-written run directories.

Nothing trains: each run directory is written here the way a run (old or new, finished,
killed or cut off half-way) leaves it, and the CLI runs as a user would, in a subprocess.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=timezone.utc)


def _config(data: str = "digits", lr: float = 0.02, seed: int = 42) -> dict[str, Any]:
    """A composed job config, with interpolations only Hydra can resolve, as runs save it."""
    return {
        "seed": seed,
        "data": {"_target_": f"trainlab.data.{data}.Module", "shuffle_seed": "${seed}"},
        "model": {"_target_": "trainlab.models.MLP", "hidden": [64, 64]},
        "optimizer": {"_target_": "torch.optim.Adam", "lr": lr},
        "paths": {"output_dir": "${hydra:runtime.output_dir}"},
    }


def _run_dir(
    path: Path,
    *,
    config: dict[str, Any] | None = None,
    data: str = "digits",
    run: dict[str, Any] | str | None = None,
    metrics: dict[str, Any] | None = None,
    mtime: datetime | None = None,
) -> Path:
    """A run directory; JSON is YAML, so the ``.hydra`` files are written as JSON."""
    (path / ".hydra").mkdir(parents=True)
    (path / "checkpoints").mkdir()
    (path / ".hydra" / "config.yaml").write_text(json.dumps(config or _config(data)))
    choices = {"data": data, "model": "mlp", "engine": "lightning", "experiment": None}
    hydra = {"hydra": {"run": {"dir": "${now:%H-%M-%S}"}, "runtime": {"choices": choices}}}
    (path / ".hydra" / "hydra.yaml").write_text(json.dumps(hydra))
    (path / ".hydra" / "overrides.yaml").write_text("[]\n")
    if run is not None:
        (path / "run.json").write_text(run if isinstance(run, str) else json.dumps(run))
    if metrics is not None:
        (path / "metrics.json").write_text(json.dumps(metrics))
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def _run_json(name: str, status: str, started: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "status": status,
        "started": started.isoformat(),
        "ended": None,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": "python train.py",
        "data": "digits",
        "model": "mlp",
        "engine": "lightning",
        "experiment": None,
        "seed": 42,
        "monitor": "val/loss",
        **fields,
    }


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One of each kind of run directory, and a sweep of two jobs."""
    root = tmp_path_factory.mktemp("index") / "logs"
    _run_dir(
        root / "2026-01-03" / "10-00-00_digits-mlp-lightning",
        config=_config(lr=0.01),
        run=_run_json("digits-mlp-lightning", "finished", _utc(3, 10)),
        metrics={"test/acc": 0.9611, "val/acc": 0.9741},
    )
    _run_dir(  # before run.json existed
        root / "2026-01-01" / "09-00-00",
        config=_config("housing", lr=0.001),
        data="housing",
        metrics={"test/mae": 0.51},
        mtime=_utc(1, 9),
    )
    _run_dir(  # interrupted before run.json existed: metrics.json says so
        root / "2026-01-01" / "08-00-00",
        metrics={"val/acc": 0.5, "status": "interrupted", "epochs": 3},
        mtime=_utc(1, 8),
    )
    _run_dir(
        root / "2026-01-02" / "11-00-00_broken",
        run='{"name": "broken", "status": "runn',
        mtime=_utc(2, 11),
    )
    _run_dir(root / "2026-01-02" / "12-00-00_half", mtime=_utc(2, 12))  # only .hydra
    _run_dir(
        root / "2026-01-04" / "08-00-00_ghost",
        run=_run_json("ghost", "running", _utc(4, 8), pid=_dead_pid()),
    )
    sweep = root / "sweeps" / "study"
    for number, (lr, status, value) in enumerate([(0.01, "finished", 0.9), (0.1, "pruned", 0.5)]):
        _run_dir(
            sweep / f"{number}_optimizer.lr={lr}",
            config=_config(lr=lr),
            run=_run_json(f"job{number}", status, _utc(5, 10, 5 * number)),
            metrics={"val/acc": value},
        )
    multirun = {
        "hydra": {
            "sweeper": {"direction": "maximize"},
            "runtime": {"choices": {"data": "digits", "model": "mlp", "engine": "lightning"}},
        },
        "optimized_metric": "val/acc",
        **_config(lr=0.05),
    }
    (sweep / "multirun.yaml").write_text(json.dumps(multirun))
    (sweep / "trials.csv").write_text(
        "number,state,value,duration_s,epochs,optimizer.lr,error\n"
        "0,COMPLETE,0.9,1.5,12,0.01,\n"
        "1,PRUNED,0.5,0.4,2,0.1,\n"
    )
    return root


def _index(log_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainlab.runs", str(log_dir.name), *args],
        cwd=log_dir.parent,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _rows(log_dir: Path, *args: str) -> list[dict[str, Any]]:
    result = _index(log_dir, "--json", *args)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_every_run_and_sweep_newest_first(log_dir: Path) -> None:
    rows = _rows(log_dir)
    assert [(row["kind"], row["name"]) for row in rows] == [
        ("sweep", "study"),
        ("run", "job1"),
        ("run", "job0"),
        ("run", "ghost"),
        ("run", "digits-mlp-lightning"),
        ("run", "half"),
        ("run", "broken"),
        ("run", "09-00-00"),
        ("run", "08-00-00"),
    ]
    by_name = {row["name"]: row for row in rows}
    assert {name: row["status"] for name, row in by_name.items()} == {
        "study": "2 trials: 1 complete, 1 pruned",
        "job1": "pruned",
        "job0": "finished",
        "ghost": "killed",  # "running", but its process is gone
        "digits-mlp-lightning": "finished",
        "half": "incomplete",
        "broken": "corrupt",
        "09-00-00": "finished",
        "08-00-00": "interrupted",
    }
    assert "run.json" in by_name["broken"]["error"]
    assert by_name["broken"]["data"] == "digits"  # what can be read still is
    assert by_name["study"]["metrics"] == {"val/acc": 0.9}
    assert [row["sweep"] for row in rows[:3]] == [None, "study", "study"]
    finished = by_name["digits-mlp-lightning"]
    assert finished["metrics"] == {"test/acc": 0.9611, "val/acc": 0.9741}
    assert finished["path"] == str(Path("logs", "2026-01-03", "10-00-00_digits-mlp-lightning"))
    assert (finished["data"], finished["model"], finished["engine"], finished["seed"]) == (
        "digits",
        "mlp",
        "lightning",
        42,
    )
    assert by_name["09-00-00"]["data"] == "housing"  # from .hydra/hydra.yaml
    assert by_name["08-00-00"]["metrics"] == {"val/acc": 0.5}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--where", "data=housing"], ["09-00-00"]),
        (["--where", "optimizer.lr=0.01", "--where", "data=digits"], ["job0", "digits-mlp-lightning"]),
        (["--where", "optimizer.lr=1e-3"], ["09-00-00"]),
        (["--where", "data._target_=trainlab.data.housing.Module"], ["09-00-00"]),
        (["--where", "seed=7"], []),
        (["--where", "model.hidden=[64, 64]", "--status", "killed"], ["ghost"]),
        (["--status", "corrupt"], ["broken"]),
        (["--where", "data=digits", "--limit", "2"], ["study", "job1"]),
    ],
)
def test_filters(log_dir: Path, args: list[str], names: list[str]) -> None:
    assert [row["name"] for row in _rows(log_dir, *args)] == names


def test_rich_table_names_every_run(log_dir: Path) -> None:
    result = _index(log_dir)
    assert result.returncode == 0, result.stderr
    for name in ("study", "job0", "ghost", "digits-mlp-lightning", "half", "broken", "09-00-00"):
        assert name in result.stdout
    assert "val/acc=0.9741 test/acc=0.9611" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["missing"], ["logs", "--where", "data"], ["logs", "--where", "data=["], ["logs", "--limit", "-1"]],
)
def test_bad_input_is_one_line(log_dir: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trainlab.runs", *args],
        cwd=log_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trainlab: error: "), result.stderr


def test_live_run_and_other_broken_files(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _run_dir(logs / "a", run=_run_json("live", "running", _utc(3, 9)))  # this test's own pid
    _run_dir(logs / "b", run=_run_json("elsewhere", "running", _utc(3, 8), host="other", pid=1))
    bad_metrics = _run_dir(logs / "c", run=_run_json("bad-metrics", "finished", _utc(3, 7)))
    (bad_metrics / "metrics.json").write_text('{"val/acc": 0.')
    bad_config = _run_dir(logs / "d", run=_run_json("bad-config", "finished", _utc(3, 6)))
    (bad_config / ".hydra" / "config.yaml").write_text("seed: [1,\n")
    rows = _rows(logs, "--where", "seed=42")
    assert [(row["name"], row["status"]) for row in rows] == [
        ("live", "running"),
        ("elsewhere", "running"),  # another host's process cannot be checked from here
        ("bad-metrics", "corrupt"),
        ("bad-config", "corrupt"),  # seed from run.json
    ]
    (logs / "empty").mkdir()
    assert _rows(logs / "empty") == []


def test_summary_gives_a_metrics_mean_and_spread_over_the_listed_runs(log_dir: Path) -> None:
    # val/acc: the digits run (0.9741), the interrupted one (0.5) and the sweep's two jobs
    # (0.9, 0.5); the sweep's own row is not a run.
    result = _index(log_dir, "--where", "data=digits", "--summary", "val/acc", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["runs"] == 4 and summary["min"] == 0.5 and summary["max"] == 0.9741
    assert summary["mean"] == pytest.approx((0.9741 + 0.5 + 0.9 + 0.5) / 4)
    text = _index(log_dir, "--summary", "test/acc").stdout
    assert "test/acc over 1 runs: mean 0.9611 (min 0.9611, max 0.9611, std 0.0000)" in text
