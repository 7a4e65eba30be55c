"""TensorBoard shows what happened: the real ``tensorboard`` server on a tree of real runs.

The tree holds a finished run on each engine, an early-stopped run, a regression run and
a small sweep with a pruned trial, all trained through ``train.py`` into one log
directory. The server runs on 127.0.0.1 and a free port, is read through its HTTP API
(the routes its own web page uses) and is stopped by its PID.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .helpers import REPO, DataDir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
QUIET = ["~callbacks.rich_progress_bar", "~callbacks.model_summary"]
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def train(log_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [arg for arg in args if arg.startswith("-")]
    overrides = [arg for arg in args if not arg.startswith("-")]
    process = subprocess.run(
        [sys.executable, "train.py", *flags, f"paths.log_dir={log_dir}", *QUIET, *overrides],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return process


@dataclass
class Tree:
    log_dir: Path
    early_stopped: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, data_dir: DataDir) -> Tree:
    log_dir = tmp_path_factory.mktemp("outputs")
    train(log_dir, "trainer.max_epochs=3", "baseline=logistic")
    train(log_dir, "trainer.max_epochs=2", "engine=keras", "figures=false")
    early = train(
        log_dir,
        "trainer.max_epochs=30",
        "callbacks.early_stopping.patience=2",
        "callbacks.early_stopping.min_delta=10",  # no epoch improves that much
        "figures=false",
    )
    train(log_dir, *data_dir.housing, "model.hidden=[16]", "trainer.max_epochs=2", "figures=false")
    train(
        log_dir,
        "-m",
        "hparams_search=digits_optuna",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler.seed=0",
        "trainer.max_epochs=3",
        "data.batch_size=128",
        "optimizer.lr=choice(0.1,1e-7)",
        "hydra.sweeper.pruner=median",
        "hydra.sweeper.pruners.median.n_startup_trials=1",
        "hydra.sweeper.pruners.median.n_warmup_steps=0",
    )
    return Tree(log_dir, early)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, route: str) -> Any:
        with urllib.request.urlopen(self.url + route, timeout=30) as response:
            return json.loads(response.read())

    def post(self, route: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + route, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def session_groups(self) -> list[dict[str, Any]]:
        body = {"allowedStatuses": STATUSES, "colParams": [], "startIndex": 0, "sliceSize": 1000}
        groups: list[dict[str, Any]] = self.post("/data/plugin/hparams/session_groups", body)[
            "sessionGroups"
        ]
        return groups


def run_dirs(log_dir: Path) -> list[Path]:
    return sorted(path.parent for path in log_dir.rglob("run.json"))


@pytest.fixture(scope="module")
def server(tree: Tree) -> Iterator[Server]:
    port = free_port()
    tensorboard = Path(sys.executable).with_name("tensorboard")
    process = subprocess.Popen(
        [str(tensorboard), "--logdir", str(tree.log_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = Server(f"http://127.0.0.1:{port}")
    try:
        expected = len(run_dirs(tree.log_dir))
        deadline = time.monotonic() + 120
        while True:  # until the server has read every run's session
            try:
                if len(served.session_groups()) >= expected:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "TensorBoard did not show the runs in 120 s"
            time.sleep(0.5)
        yield served
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def by_run(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Session groups by the run they belong to (the session lives in ``<run>/summary``)."""
    return {group["sessions"][0]["name"].removesuffix("/summary"): group for group in groups}


def _what(run: str) -> str:
    """A run's name without its start time, nor the ``_<n>`` of runs started in the same second."""
    return re.sub(r"_\d+$", "", run.split("_", 1)[1])


def test_runs_are_named_by_what_they_are(tree: Tree, server: Server) -> None:
    runs = server.get("/data/runs")
    single = [r for r in runs if not r.startswith("sweeps/") and not r.endswith("/summary")]
    names = sorted(_what(run) for run in single)
    assert names == [
        "digits-mlp-keras",
        "digits-mlp-lightning",
        "digits-mlp-lightning",
        "housing-mlp-lightning",
    ], runs
    trials = [r for r in runs if r.startswith("sweeps/digits_optuna/") and not r.endswith("/summary")]
    assert len(trials) == 4, runs
    for run in trials:  # <trial number>_<its parameters>
        number, params = run.removeprefix("sweeps/digits_optuna/").split("_", 1)
        assert number.isdigit() and "optimizer.lr=" in params, run


def test_hparams_show_each_runs_metrics_json_and_status(tree: Tree, server: Server) -> None:
    groups = by_run(server.session_groups())
    dirs = run_dirs(tree.log_dir)
    assert len(groups) == len(dirs) == 8
    statuses = []
    for run_dir in dirs:
        group = groups[run_dir.relative_to(tree.log_dir).as_posix()]
        shown = {value["name"]["tag"]: value["value"] for value in group["metricValues"]}
        written = json.loads((run_dir / "metrics.json").read_text())
        assert shown == pytest.approx(written), run_dir
        record = json.loads((run_dir / "run.json").read_text())
        assert group["hparams"]["status"] == record["status"]
        succeeded = record["status"] in ("finished", "stopped_early")
        assert group["sessions"][0]["status"] == ("STATUS_SUCCESS" if succeeded else "STATUS_FAILURE")
        statuses.append(record["status"])
    assert statuses.count("stopped_early") == 1
    assert "pruned" in statuses, statuses


def test_hparams_columns_come_from_every_run(server: Server) -> None:
    experiment = server.post("/data/plugin/hparams/experiment", {"includeMetrics": True})
    metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert {"val/acc", "test/acc", "test/rmse", "test/mae", "baseline/test/acc"} <= metrics
    assert not {"train/loss", "train/lr", "epoch"} & metrics  # curves are not final numbers
    params = {info["name"]: info for info in experiment["hparamInfos"]}
    for name in ("optimizer.lr", "model.hidden.0", "model.hidden.depth", "trial", "seed"):
        assert params[name]["type"] == "DATA_TYPE_FLOAT64", params[name]
    for name in ("data", "engine", "optimizer.lr", "status"):
        assert params[name]["differs"], name
    differing = [info["differs"] for info in experiment["hparamInfos"]]
    assert differing == sorted(differing, reverse=True)  # what differs comes first


def test_sweep_trials_sit_under_their_study(tree: Tree, server: Server) -> None:
    groups = by_run(server.session_groups())
    trials = {run: g for run, g in groups.items() if run.startswith("sweeps/")}
    numbers = sorted(int(g["hparams"]["trial"]) for g in trials.values())
    assert numbers == [0, 1, 2, 3]
    for run, group in trials.items():
        assert group["name"] == f"digits_optuna/{int(group['hparams']['trial'])}"
        assert run.split("/")[-1].startswith(f"{int(group['hparams']['trial'])}_")
        assert isinstance(group["hparams"]["optimizer.lr"], float)


def test_scalars_have_one_point_per_epoch(tree: Tree, server: Server) -> None:
    tags = server.get("/data/plugin/scalars/tags")
    for run_dir in run_dirs(tree.log_dir):
        run = run_dir.relative_to(tree.log_dir).as_posix()
        with (run_dir / "history.csv").open() as handle:
            epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
        curves = set(tags[run])
        assert "train/lr" in curves and not any(t.startswith("lr-") for t in curves), curves
        assert not {"epoch", "hp_metric"} & curves
        assert all(tag.startswith(("train/", "val/")) for tag in curves), curves
        for tag in ("train/loss", "val/loss", "train/lr"):
            points = server.get(f"/data/plugin/scalars/scalars?run={quote(run)}&tag={quote(tag)}")
            assert [step for _, step, _ in points] == epochs, (run, tag)


def test_text_and_images(tree: Tree, server: Server) -> None:
    texts = server.get("/data/plugin/text/tags")
    images = server.get("/data/plugin/images/tags")
    finished = next(r for r in texts if _what(r) == "digits-mlp-lightning" and r in images)
    assert "run/config/text_summary" in texts[finished]
    entry = server.get(
        f"/data/plugin/text/text?run={quote(finished)}&tag={quote('run/config/text_summary')}"
    )
    assert "python train.py" in entry[0]["text"] and "max_epochs" in entry[0]["text"]
    assert {"figures/confusion_matrix", "figures/learning_curves"} <= set(images[finished])


def test_terminal_names_the_stopping_and_best_epochs(tree: Tree) -> None:
    run_dir = next(d for d in run_dirs(tree.log_dir) if "stopped_early" in (d / "run.json").read_text())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["epochs"] == 3 and record["stop_reason"].startswith("early stopping at epoch 3")
    with (run_dir / "history.csv").open() as handle:
        losses = [float(row["val/loss"]) for row in csv.DictReader(handle)]
    assert record["best_epoch"] == losses.index(min(losses)) + 1
    out = tree.early_stopped.stdout
    assert "early stopping at epoch 3" in out and f"best epoch {record['best_epoch']}" in out, out
    assert out.count("metrics: ") == 1 and "run directory: " in out
