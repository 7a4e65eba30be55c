"""DDP on two gloo CPU processes in every mode: an Optuna sweep, a grid multirun, two machines.

Each job's rank 0 starts the other ranks from its own config, so every rank trains the
job's configuration, and only rank 0 writes. Each rank logs what it trains (``rank N of
2 (node K): config <digest> optimizer.lr=...``) to the job's ``train.log``; the tests
compare those lines with the job's saved config and the study's trials.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
# One torch thread per process: two ranks on two shared cores.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
QUIET = ["~callbacks.rich_progress_bar", "~callbacks.model_summary", "figures=false"]
RANK_LINE = re.compile(r"rank (\d) of 2 \(node (\d)\): config (\w+) (.*)$")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore::optuna.exceptions.ExperimentalWarning", "ignore:Heartbeat of storage:UserWarning"
    ),
]


def train(*args: str, env: dict[str, str] = ENV, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )


def rank_lines(job_dir: Path) -> dict[int, tuple[str, str]]:
    """Each rank's (config digest, hyperparameters) as the job's train.log records them."""
    found: dict[int, tuple[str, str]] = {}
    for line in (job_dir / "train.log").read_text().splitlines():
        match = RANK_LINE.search(line)
        if match:
            rank = int(match.group(1))
            assert rank not in found, f"rank {rank} trained twice in {job_dir}"
            found[rank] = (match.group(3), match.group(4))
    return found


def assert_one_job_on_both_ranks(job_dir: Path) -> dict[str, str]:
    """Both ranks trained this job's config, once; one process wrote the run directory."""
    ranks = rank_lines(job_dir)
    assert sorted(ranks) == [0, 1], ranks
    assert ranks[0] == ranks[1], ranks
    values = dict(item.split("=", 1) for item in ranks[0][1].split() if "=" in item)
    saved = OmegaConf.load(job_dir / ".hydra" / "config.yaml")
    assert float(values["optimizer.lr"]) == pytest.approx(float(saved.optimizer.lr), rel=1e-12)
    assert (job_dir / "metrics.json").is_file() and (job_dir / "history.csv").is_file()
    writers = {path.name.split(".")[4] for path in job_dir.rglob("events.out.tfevents.*")}
    assert len(writers) == 1, f"TensorBoard events from several processes: {writers}"
    return values


def test_an_optuna_sweep_trains_each_trial_once_with_the_same_parameters_on_every_rank(
    tmp_path: Path,
) -> None:
    done = train(
        "-m",
        "hparams_search=digits_optuna",
        "hydra.sweeper.n_trials=3",
        "trainer=ddp_cpu",
        "trainer.max_epochs=2",
        f"paths.log_dir={tmp_path}",
        *QUIET,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweeps"], "stray directories"
    sweep = tmp_path / "sweeps" / "digits_optuna"
    study = optuna.load_study(study_name="digits_optuna", storage=f"sqlite:///{sweep / 'study.db'}")
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    job_dirs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name.split("_", 1)[0] for p in job_dirs] == ["0", "1", "2"]  # each trained once
    for trial, job_dir in zip(trials, job_dirs, strict=True):
        values = assert_one_job_on_both_ranks(job_dir)
        assert float(values["optimizer.lr"]) == pytest.approx(trial.params["optimizer.lr"], rel=1e-9)
        assert values["model.activation"] == trial.params["model.activation"]
        assert float(values["model.dropout"]) == pytest.approx(trial.params["model.dropout"])
    digests = {rank_lines(job_dir)[1][0] for job_dir in job_dirs}
    assert len(digests) == 3, "rank 1 trained the same config in two trials"


def test_a_grid_multirun_leaves_one_directory_per_job_and_nothing_else(tmp_path: Path) -> None:
    done = train(
        "-m",
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "optimizer.lr=0.01,0.02",
        f"paths.log_dir={tmp_path}",
        *QUIET,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["multirun"], "stray directories"
    (day,) = (tmp_path / "multirun").iterdir()
    (sweep,) = day.iterdir()  # one multirun directory: rank 1 claimed none of its own
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name.split("_", 1)[0] for p in jobs] == ["0", "1"]
    lrs = [float(assert_one_job_on_both_ranks(job)["optimizer.lr"]) for job in jobs]
    assert lrs == [0.01, 0.02]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_second_machine_joins_with_node_rank_and_writes_nothing(tmp_path: Path) -> None:
    """Two nodes of one process each, on this machine: the same command with NODE_RANK=1."""
    env = {**ENV, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    elsewhere = tmp_path / "node1"
    elsewhere.mkdir()
    node1 = subprocess.Popen(
        [sys.executable, str(REPO / "train.py")],
        cwd=elsewhere,
        env={**env, "NODE_RANK": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_dir = tmp_path / "run"
    args = ["trainer=ddp_cpu", "trainer.devices=1", "trainer.num_nodes=2", "trainer.max_epochs=1"]
    done = train(*args, *QUIET, f"hydra.run.dir={run_dir}", env=env)
    output, _ = node1.communicate(timeout=120)
    assert done.returncode == 0, done.stderr
    assert node1.returncode == 0, output
    assert list(elsewhere.iterdir()) == []  # the second machine wrote nothing
    ranks = rank_lines(run_dir)
    assert list(ranks) == [0] and f"node 1): config {ranks[0][0]}" in output
    assert "metrics: test/acc=" in done.stdout
