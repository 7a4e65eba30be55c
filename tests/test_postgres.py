"""A study in a real PostgreSQL server, shared by two sweep workers; storage URLs that
cannot work, each reported in one line.

The server is started once for this module by ``benchmarks.scale_out.temporary_postgres``:
``initdb`` into a temporary directory, then ``postgres`` on 127.0.0.1 and a free port as
an unprivileged user (PostgreSQL refuses to run as root), stopped by its PID when the
module's tests are done, passed or failed. Without PostgreSQL's binaries (``.ci/run``
installs them) or psycopg2 the tests that need the server are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import optuna
import pytest

from benchmarks.common import Unavailable
from benchmarks.scale_out import free_port, temporary_postgres
from trainlab.sweep.study import finished, open_storage

from .helpers import REPO

pytestmark = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning", "ignore:Heartbeat of storage:UserWarning"
)
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
TRIAL_LINE = re.compile(r"\[HYDRA\] trial (\d+)  ", re.MULTILINE)
# Few, short trials with one searched key; unseeded samplers, as workers run in earnest
# (workers started together with one seed would propose the same trials).
SWEEP = [
    "-m",
    "hparams_search=digits_optuna",
    "trainer.max_epochs=1",
    "data.batch_size=128",
    "model.hidden=[64]",
    "model.activation=relu",
    "model.dropout=0",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.sampler.seed=null",
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL server's database, for this module's tests; stopped after them."""
    try:
        with temporary_postgres() as url:
            yield url
    except Unavailable as reason:
        pytest.skip(f"{reason} (.ci/run installs it)")


def start_worker(*overrides: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "train.py", *SWEEP, *overrides],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_share_one_postgresql_study(postgres_url: str, tmp_path: Path) -> None:
    storage = postgres_url
    workers = [
        start_worker(f"hydra.sweeper.storage={storage}", f"hydra.sweep.dir={tmp_path}") for _ in "ab"
    ]
    try:
        outputs = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    study = optuna.load_study(study_name="digits_optuna", storage=open_storage(storage))
    trials = [t for t in study.trials if finished(t)]
    numbers = sorted(t.number for t in trials)
    assert len(numbers) == 4 and len(set(numbers)) == 4  # exactly n_trials, none twice
    assert {t.state.name for t in trials} == {"COMPLETE"}
    # Each trial trained once, by one of the workers: one line, one run directory.
    lines = [TRIAL_LINE.findall(stdout) for stdout, _ in outputs]
    assert sorted(int(n) for found in lines for n in found) == numbers
    run_dirs = sorted(tmp_path.glob("[0-9]*_*"))
    assert sorted(int(d.name.split("_")[0]) for d in run_dirs) == numbers
    values = {t.number: t.value for t in trials}
    for run_dir in run_dirs:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["val/acc"] == pytest.approx(values[int(run_dir.name.split("_")[0])])


def bad_storage(storage: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "train.py",
            *SWEEP,
            f"hydra.sweeper.storage={storage}",
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], message: str, tmp_path: Path) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("[0-9]*"))  # no trial ran


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        (
            "postgresq://trainlab@127.0.0.1:{port}/optuna",
            "hydra.sweeper.storage=postgresq://trainlab@127.0.0.1:{port}/optuna: "
            "unknown database dialect 'postgresq'",
        ),
        (
            "postgresql://trainlab@127.0.0.1:{port}/optuna",
            "hydra.sweeper.storage=postgresql://trainlab@127.0.0.1:{port}/optuna: "
            "cannot connect to 127.0.0.1:{port} (connection refused)",
        ),
        (
            "postgresql+pg8000://trainlab@127.0.0.1:{port}/optuna",
            ": the PostgreSQL driver pg8000 is not installed (pip install pg8000)",
        ),
    ],
)
def test_a_storage_that_cannot_work_is_one_line(storage: str, message: str, tmp_path: Path) -> None:
    if "pg8000" in storage and importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here")
    port = free_port()  # nothing listens there
    result = bad_storage(storage.format(port=port), tmp_path)
    assert_one_line(result, message.format(port=port), tmp_path)


def test_a_missing_database_is_one_line(postgres_url: str, tmp_path: Path) -> None:
    misspelled = postgres_url.rpartition("/")[0] + "/optunna"
    result = bad_storage(misspelled, tmp_path)
    port = urlsplit(postgres_url).port
    message = f'cannot connect to 127.0.0.1:{port} (database "optunna" does not exist)'
    assert_one_line(result, message, tmp_path)
