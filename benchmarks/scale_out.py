"""Scaling a sweep out on one machine: parallel trials (joblib) and shared studies (two workers).

    python -m benchmarks.scale_out                   # 12 trials per setup, writes bench/scale_out.json
    python -m benchmarks.scale_out trials=4 jobs=2 output=/tmp/scale_out.json trainer.max_epochs=2

Options: ``trials``, ``jobs``, ``output``; other ``key=value`` arguments are passed to
``train.py``. Each setup runs one whole digits sweep (``hparams_search=digits_optuna``,
every trial the same number of epochs and the same width, so trials cost alike) into a
fresh directory, timed from the first process spawned to the last one's exit:

- basic: one ``train.py -m`` process, Hydra's basic launcher, one trial after the other;
- joblib: the same with ``hydra/launcher=joblib`` and ``jobs`` trials at a time;
- two workers on SQLite: two ``train.py -m`` processes sharing the sweep's ``study.db``;
- two workers on PostgreSQL: the same on a throwaway local PostgreSQL server
  (``temporary_postgres``; not available without PostgreSQL's binaries or psycopg2).

Trials per minute count every trial the study finished over the whole wall time, start-up
and report included; a trial's seconds run from claiming it to telling its result, so
in parallel setups they include waiting for a core, and joblib's first trials the
start of its worker processes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import Unavailable, command_line, split_options, summary, write_result
from benchmarks.machine import host
from benchmarks.processes import REPO, train_command

OPTIONS = {"trials": 12, "jobs": 2, "output": "bench/scale_out.json"}
# Equal trials: a fixed width and epoch count, nothing pruned or stopped early; lr,
# activation and dropout are still searched.
DEFAULT_OVERRIDES = [
    "hparams_search=digits_optuna",
    "trainer.max_epochs=20",
    "callbacks.early_stopping.patience=100",
    "model.hidden=[128,128]",
    "hydra.sweeper.pruner=none",
]
#: One torch thread per process: the rows compare processes, not threads within one.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
LABELS = {
    "basic": "basic launcher: one process, trials one after the other",
    "joblib": "`hydra/launcher=joblib`, {jobs} trials at a time",
    "sqlite_workers": "two workers, one SQLite `study.db`",
    "postgres_workers": "two workers, one PostgreSQL database",
}
POSTGRES_ROLE, POSTGRES_DATABASE = "trainlab", "optuna"
#: A throwaway server: no waiting for the disk.
POSTGRES_FAST = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
POSTGRES_START_S = 30.0


# A throwaway PostgreSQL server ------------------------------------------------------------


def postgres_binaries() -> tuple[Path, Path] | None:
    """``initdb`` and ``postgres``: on PATH, or where Debian's package puts them."""
    found = shutil.which("initdb")
    candidates = [found] if found else sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1:]
    for initdb in candidates:
        server = Path(initdb).resolve().parent / "postgres"
        if server.is_file():
            return Path(initdb), server
    return None


def unprivileged() -> dict[str, Any]:
    """``subprocess`` arguments that drop root to ``postgres`` or ``nobody`` (PostgreSQL
    refuses to run as root); none when not root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise Unavailable("running as root, with neither a postgres nor a nobody user to run PostgreSQL")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _connect(port: int, database: str = "postgres") -> Any:
    import psycopg2

    return psycopg2.connect(
        host="127.0.0.1", port=port, user=POSTGRES_ROLE, dbname=database, connect_timeout=5
    )


def _wait_until_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg2

    deadline = time.monotonic() + POSTGRES_START_S
    while True:
        try:
            _connect(port).close()
            return
        except psycopg2.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGQUIT, PostgreSQL's immediate shutdown (the data is thrown away); SIGKILL if it hangs."""
    if server.poll() is None:
        os.kill(server.pid, signal.SIGQUIT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """A fresh PostgreSQL server on 127.0.0.1 and a free port; the URL of its database.

    ``initdb`` into a temporary directory, ``postgres`` as an unprivileged user, stopped
    by its PID and deleted on exit, whatever happened. Raises ``Unavailable`` without
    PostgreSQL's binaries or the psycopg2 driver.
    """
    binaries = postgres_binaries()
    if binaries is None:
        raise Unavailable("PostgreSQL is not installed (no initdb)")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise Unavailable("no PostgreSQL driver (pip install 'trainlab[postgres]')") from None
    initdb, postgres = binaries
    user = unprivileged()
    root = Path(tempfile.mkdtemp(prefix="trainlab-postgres-"))
    try:
        if user:
            os.chown(root, user["user"], user["group"])
        data, log = root / "data", root / "server.log"
        subprocess.run(
            [initdb, "-D", data, "-U", POSTGRES_ROLE, "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            **user,
        )
        port = free_port()
        with log.open("wb") as output:
            server = subprocess.Popen(
                [postgres, "-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", root, *POSTGRES_FAST],
                stdout=output,
                stderr=subprocess.STDOUT,
                **user,
            )
        try:
            _wait_until_ready(port, server, log)
            connection = _connect(port)
            try:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE DATABASE {POSTGRES_DATABASE}")
            finally:
                connection.close()
            yield f"postgresql://{POSTGRES_ROLE}@127.0.0.1:{port}/{POSTGRES_DATABASE}"
        finally:
            _stop(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# The sweeps -------------------------------------------------------------------------------


def run_workers(commands: Sequence[list[str]]) -> float:
    """Start every command at once; wall seconds until the last one exits (all must succeed)."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            command, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    failures = []
    for command, process in zip(commands, processes, strict=True):
        _, stderr = process.communicate()
        if process.returncode != 0:
            failures.append(f"{' '.join(command)} failed ({process.returncode}): {stderr[-2000:]}")
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError("\n".join(failures))
    return seconds


def finished_trials(storage: str) -> list[float]:
    """The seconds of each trial the study finished (COMPLETE, PRUNED, or FAIL with an error)."""
    import optuna

    from trainlab.sweep.study import finished, open_storage

    study = optuna.load_study(study_name="digits_optuna", storage=open_storage(storage))
    trials = [t for t in study.get_trials(deepcopy=False) if finished(t)]
    return [t.duration.total_seconds() for t in trials if t.duration is not None]


def measure(
    name: str, overrides: Sequence[str], sweep_dir: Path, storage: str | None, workers: int
) -> dict[str, Any]:
    """One setup's sweep: its wall time, trials finished and trials per minute."""
    stored = [f"hydra.sweeper.storage={storage}"] if storage else []
    command = train_command(["-m", *overrides, *stored, f"hydra.sweep.dir={sweep_dir}"])
    seconds = run_workers([command] * workers)
    durations = finished_trials(storage or f"sqlite:///{sweep_dir / 'study.db'}")
    trials = len(durations)
    print(f"{name}: {trials} trials in {seconds:.1f} s = {60 * trials / seconds:.1f} trials/min")
    return {
        "wall_s": summary([seconds]),
        "trials": trials,
        "trials_per_minute": 60 * trials / seconds,
        # From claiming a trial to telling its result: a worker's start-up is in its first.
        "trial_s": summary(durations) if durations else None,
    }


def main(argv: Sequence[str]) -> dict[str, Any]:
    own, extra = split_options(argv, OPTIONS, __doc__ or "")
    trials, jobs, output = int(own["trials"]), int(own["jobs"]), Path(str(own["output"]))
    overrides = [*DEFAULT_OVERRIDES, f"hydra.sweeper.n_trials={trials}", *extra]
    parallel = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="trainlab-scale-out-") as scratch:
        root = Path(scratch)
        rows["basic"] = measure("basic", overrides, root / "basic", None, 1)
        rows["joblib"] = measure("joblib", [*overrides, *parallel], root / "joblib", None, 1)
        rows["sqlite_workers"] = measure("sqlite_workers", overrides, root / "sqlite", None, 2)
        try:
            with temporary_postgres() as storage:
                rows["postgres_workers"] = measure(
                    "postgres_workers", overrides, root / "pg", storage, 2
                )
        except Unavailable as reason:
            print(f"postgres_workers: not available: {reason}")
            rows["postgres_workers"] = {"available": False, "reason": str(reason)}
    for name, row in rows.items():
        row.setdefault("available", True)
        row["label"] = LABELS[name].format(jobs=jobs)
    basic, joblib = rows["basic"]["wall_s"]["median"], rows["joblib"]["wall_s"]["median"]
    sqlite_rate = rows["sqlite_workers"]["trials_per_minute"]
    postgres_rate = rows["postgres_workers"].get("trials_per_minute")
    result: dict[str, Any] = {
        "benchmark": "a digits sweep: basic vs joblib launcher; two workers on SQLite vs PostgreSQL",
        "command": command_line("benchmarks.scale_out", argv),
        "machine": host(),
        "config": {
            "trials": trials,
            "jobs": jobs,
            "overrides": overrides,
            "sqlite": sqlite3.sqlite_version,
        },
        "rows": rows,
        "joblib_speedup": basic / joblib,
        "postgres_vs_sqlite": postgres_rate / sqlite_rate if postgres_rate else None,
    }
    print(f"wall time, basic / joblib ({jobs} at a time): {basic / joblib:.2f}x")
    write_result(output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
