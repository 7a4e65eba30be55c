"""Hydra launchers other than the basic one: joblib (parallel processes on this machine),
submitit_local (each job a process of its own, as on SLURM) and the SLURM settings.

Each sweep is a real ``train.py -m`` process. Its output goes through pipes and it runs in
a session of its own: worker processes left behind would keep the pipes open, so such a
sweep would not end within the timeout (and its whole group is killed then).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from trainlab.sweep.launchers import parallel_jobs

from .helpers import CONFIG_DIR, REPO

pytestmark = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning", "ignore:Heartbeat of storage:UserWarning"
)
# One torch thread per process: on 2 shared cores, more threads only contend.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
# Well under loky's 300 s idle timeout: a sweep that leaves its workers alive times out.
TIMEOUT_S = 240
# Only the learning rate is searched: 0.1 learns digits in an epoch, 1e-7 never does.
# With this seed the first batch (trials 0, 1) draws 0.1 twice and the second draws 0.1
# and 1e-7: the hopeless trial runs beside a good one and is pruned after its first epoch.
PRUNING_SWEEP = [
    "hparams_search=digits_optuna",
    "trainer.max_epochs=3",
    "data.batch_size=128",
    "model.hidden=[64]",
    "model.activation=relu",
    "model.dropout=0",
    "optimizer.lr=choice(0.1,1e-7)",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.sampler.seed=2",
    "hydra.sweeper.sampler.n_startup_trials=3",
    "hydra.sweeper.pruner=median",
    "hydra.sweeper.pruners.median.n_startup_trials=1",
    "hydra.sweeper.pruners.median.n_warmup_steps=0",
]
TRIAL_LINE = re.compile(r"\[HYDRA\] trial (\d+)  ", re.MULTILINE)
LAUNCHER_LINES = ("Joblib.Parallel", "Launching jobs", "Submitit '", " : hparams_search=")


def start(command: list[str]) -> subprocess.Popen[str]:
    """``command`` in its own process group (so a timeout can kill its workers too)."""
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_train(*args: str) -> subprocess.CompletedProcess[str]:
    """``python train.py *args``; on timeout its whole process group is killed."""
    command = [sys.executable, "train.py", *args]
    with start(command) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"{' '.join(args)} did not end within {TIMEOUT_S} s (workers left behind?)")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def study_trials(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{sweep_dir / 'study.db'}"
    return optuna.load_study(study_name="digits_optuna", storage=storage).get_trials()


def trial_dir(sweep_dir: Path, number: int) -> Path:
    (found,) = sweep_dir.glob(f"{number}_*")
    return found


def run_record(run_dir: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads((run_dir / "run.json").read_text())
    return record


def csv_rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, nothing of the launchers' own on the console, no warning of leftovers."""
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "leaked" not in output, output[-3000:]
    assert not [line for line in output.splitlines() if any(s in line for s in LAUNCHER_LINES)]


@pytest.mark.slow
def test_joblib_runs_trials_in_parallel_processes_and_prunes_across_them(tmp_path: Path) -> None:
    result = run_train(
        "-m",
        *PRUNING_SWEEP,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert_clean(result)
    assert "4 trials, 2 at a time" in result.stdout  # the sweeper's batch follows the launcher
    assert sorted(int(n) for n in TRIAL_LINE.findall(result.stdout)) == [0, 1, 2, 3]
    trials = {t.number: t for t in study_trials(tmp_path)}
    assert sorted(trials) == [0, 1, 2, 3]
    first, second = trials[0], trials[1]
    assert first.datetime_start and second.datetime_start and first.datetime_complete
    assert second.datetime_complete
    assert max(first.datetime_start, second.datetime_start) < min(
        first.datetime_complete, second.datetime_complete
    ), "the first two trials did not run at the same time"
    pruned = [t for t in trials.values() if t.state.name == "PRUNED"]
    assert [t.params["optimizer.lr"] for t in pruned] == [1e-7], [
        (t.number, t.state.name, t.params) for t in trials.values()
    ]
    assert len(pruned[0].intermediate_values) < 3  # stopped before its last epoch
    pids = set()
    for number, trial in trials.items():
        run_dir = trial_dir(tmp_path, number)
        record = run_record(run_dir)
        assert record["status"] == {"COMPLETE": "finished", "PRUNED": "pruned"}[trial.state.name]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        if trial.state.name == "COMPLETE":
            assert metrics["val/acc"] == pytest.approx(trial.value)
        pids.add(record["pid"])
    assert len(pids) == 2  # two worker processes, each reused for the second batch
    assert len(list(csv_rows(tmp_path / "trials.csv"))) == 4


@pytest.mark.slow
def test_sigterm_to_a_joblib_sweep_stops_its_trials_as_runs(tmp_path: Path) -> None:
    """A scheduler signals the sweep's process alone; the trials in its workers stop after
    their step in flight, as a single run does, and are queued to run again."""
    command = [
        sys.executable,
        "train.py",
        "-m",
        "hparams_search=digits_optuna",
        "trainer.max_epochs=1000",  # long enough to be running when the signal comes
        "hydra.sweeper.pruner=none",
        "hydra.sweeper.n_trials=2",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={tmp_path}",
    ]
    with start(command) as process:
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while len(list(tmp_path.glob("*/checkpoints/*.ckpt"))) < 2:  # both trials train
                assert process.poll() is None and time.monotonic() < deadline, "the trials never started"
                time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=TIMEOUT_S)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143, stderr[-3000:]
    assert stderr.strip().splitlines()[-1].endswith("trials 0, 1 run again when the sweep is rerun")
    assert "Traceback" not in stderr
    for number in (0, 1):
        assert run_record(trial_dir(tmp_path, number))["status"] == "interrupted"
    assert sorted(t.state.name for t in study_trials(tmp_path) if t.number > 1) == ["WAITING", "WAITING"]


@pytest.mark.slow
def test_joblib_runs_a_plain_multirun_in_parallel(tmp_path: Path) -> None:
    result = run_train(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "trainer.max_epochs=1",
        "figures=false",
        "optimizer.lr=0.1,0.01",
        f"paths.log_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "leaked" not in result.stderr, result.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "multirun").glob("*/*")  # both jobs in the one sweep directory
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == [
        "0_optimizer.lr=0.1,trainer.max_epochs=1",
        "1_optimizer.lr=0.01,trainer.max_epochs=1",
    ]
    records = [run_record(job) for job in jobs]
    assert [r["status"] for r in records] == ["finished", "finished"]
    assert records[0]["pid"] != records[1]["pid"]
    for job in jobs:
        assert "val/acc" in json.loads((job / "metrics.json").read_text())
        assert f"{job.name}: test/acc=" in result.stdout  # each job's one line


@pytest.mark.slow
def test_submitit_local_runs_each_trial_as_a_job(tmp_path: Path) -> None:
    result = run_train(
        "-m",
        "hparams_search=digits_optuna",
        "trainer.max_epochs=1",
        "data.batch_size=128",
        "model.hidden=[64]",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra/launcher=submitit_local",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert_clean(result)
    assert sorted(int(n) for n in TRIAL_LINE.findall(result.stdout)) == [0, 1]
    trials = study_trials(tmp_path)
    assert sorted((t.number, t.state.name) for t in trials) == [(0, "COMPLETE"), (1, "COMPLETE")]
    records = {t.number: run_record(trial_dir(tmp_path, t.number)) for t in trials}
    assert {r["status"] for r in records.values()} == {"finished"}
    assert records[0]["pid"] != records[1]["pid"]
    assert len(list((tmp_path / ".submitit").glob("*/*_result.pkl"))) == 2  # one SLURM-style job each


def test_slurm_settings_compose_for_ddp() -> None:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.gpus_per_node == 4  # a GPU per device ...
    assert launcher.tasks_per_node == 1  # ... and one task: the job starts its other ranks itself
    assert launcher.timeout_min == 60 and launcher.partition is None


def test_sweeper_runs_as_many_trials_at_once_as_the_launcher() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert parallel_jobs(OmegaConf.create({"n_jobs": 3})) == 3
    assert 1 <= parallel_jobs(OmegaConf.create({"n_jobs": -1})) <= (cores or 1)
    assert parallel_jobs(OmegaConf.create({"n_jobs": -1000})) == 1
    assert parallel_jobs(OmegaConf.create({"partition": None})) == 1  # submitit: none of its own
    assert parallel_jobs(None) == 1  # the basic launcher has no settings at all
