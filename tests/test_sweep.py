"""The Optuna sweeper through the CLI: report, resume, failures, pruning, workers, bad input.

Each sweep is one ``train.py -m`` process: the basic launcher runs its trials in that
process, so the imports are paid once per sweep, not once per trial.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from trainlab.sweep.space import override_value, search_space

ROOT = Path(__file__).resolve().parents[1]
# Optuna marks its heartbeat API experimental; the sweeper silences that once per process.
pytestmark = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning", "ignore:Heartbeat of storage:UserWarning"
)
# Few, short trials; a fixed sampler seed makes each sweep's samples repeatable.
FAST = [
    "hparams_search=digits_optuna",
    "trainer.max_epochs=1",
    "data.batch_size=128",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.sampler.n_startup_trials=3",
    "~callbacks.rich_progress_bar",
    "~callbacks.model_summary",
]


# One torch thread per sweep: on 2 shared cores, more threads only contend (3-10x slower).
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
Sweep = tuple[Path, subprocess.CompletedProcess[str]]


def sweep_command(sweep_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, "train.py", "-m", *FAST, f"hydra.sweep.dir={sweep_dir}", *overrides]


def run_sweep(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sweep_command(sweep_dir, *overrides),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def load_trials(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="digits_optuna", storage=f"sqlite:///{sweep_dir / 'study.db'}")
    return [t for t in study.get_trials() if "uncounted" not in t.user_attrs]


def csv_rows(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "trials.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def six_trials(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    sweep_dir = tmp_path_factory.mktemp("sweep")
    return sweep_dir, run_sweep(sweep_dir, "hydra.sweeper.n_trials=6")


@pytest.mark.slow
def test_sweep_writes_report(six_trials: Sweep) -> None:
    sweep_dir, result = six_trials
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("study.db", "best.yaml", "trials.csv", "optimization_history.png"):
        assert (sweep_dir / name).is_file(), name
    assert (sweep_dir / "param_importances.png").is_file()
    assert (sweep_dir / "parallel_coordinate.png").is_file()
    rows = csv_rows(sweep_dir)
    assert [row["number"] for row in rows] == [str(n) for n in range(6)]
    assert {"optimizer.lr", "model.hidden", "model.activation", "model.dropout"} <= set(rows[0])
    best = OmegaConf.load(sweep_dir / "best.yaml")
    complete = [t for t in load_trials(sweep_dir) if t.state.name == "COMPLETE"]
    assert best.value == max(t.value for t in complete)
    assert "hparams_search=digits_optuna" in best.overrides
    assert any(o.startswith("model.hidden=[") for o in best.overrides)  # every layer's width
    assert "best: trial" in result.stdout and "study digits_optuna" in result.stdout
    assert all((sweep_dir / f"trial_{n}" / "metrics.json").is_file() for n in range(6))


@pytest.mark.slow
def test_rerun_resumes_without_repeating(six_trials: Sweep) -> None:
    sweep_dir, first = six_trials
    assert first.returncode == 0, first.stderr[-3000:]
    before = {t.number: (t.datetime_start, t.params) for t in load_trials(sweep_dir)}
    result = run_sweep(sweep_dir, "hydra.sweeper.n_trials=8")
    assert result.returncode == 0, result.stderr[-3000:]
    after = load_trials(sweep_dir)
    assert sorted(t.number for t in after) == list(range(8))
    assert all(before[t.number] == (t.datetime_start, t.params) for t in after if t.number in before)
    new_params = [t.params for t in after if t.number not in before]
    assert len(new_params) == 2 and all(p not in [v[1] for v in before.values()] for p in new_params)
    again = run_sweep(sweep_dir, "hydra.sweeper.n_trials=8")  # nothing left to run
    assert again.returncode == 0 and len(load_trials(sweep_dir)) == 8


@pytest.mark.slow
def test_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # lr 1e30 passes the config checks, but a ReLU net's loss turns NaN in the first epoch.
    result = run_sweep(
        tmp_path, "hydra.sweeper.n_trials=6", "optimizer.lr=choice(0.05,1e30)", "model.activation=relu"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    states = {t.number: (t.state.name, t.params["optimizer.lr"]) for t in load_trials(tmp_path)}
    assert len(states) == 6
    assert {s for s, lr in states.values() if lr == 1e30} == {"FAIL"}
    assert {s for s, lr in states.values() if lr == 0.05} == {"COMPLETE"}
    errors = [row["error"] for row in csv_rows(tmp_path) if row["state"] == "FAIL"]
    assert errors and all("NaN" in e for e in errors)


def test_all_trials_failing_exits_nonzero(tmp_path: Path) -> None:
    result = run_sweep(
        tmp_path, "hydra.sweeper.n_trials=2", "optimizer.lr=choice(1e30)", "model.activation=relu"
    )
    assert result.returncode == 1
    assert "all 2 trials of this sweep failed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_pruner_stops_a_hopeless_trial(tmp_path: Path) -> None:
    result = run_sweep(
        tmp_path,
        "hydra.sweeper.n_trials=6",
        "trainer.max_epochs=3",
        "optimizer.lr=choice(0.1,1e-7)",
        "hydra.sweeper.pruner=median",
        "hydra.sweeper.pruners.median.n_startup_trials=1",
        "hydra.sweeper.pruners.median.n_warmup_steps=0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = load_trials(tmp_path)
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    hopeless = [t for t in pruned if t.params["optimizer.lr"] == 1e-7]
    assert hopeless, [(t.state.name, t.params) for t in trials]
    assert all(len(t.intermediate_values) < 3 for t in hopeless)  # stopped before the last epoch
    assert not any(t.state.name == "FAIL" for t in trials)


@pytest.mark.slow
def test_two_workers_share_one_study(tmp_path: Path) -> None:
    # Unseeded samplers, as a distributed sweep should run: workers that start together
    # with one fixed seed would propose the same parameters.
    command = sweep_command(
        tmp_path, "hydra.sweeper.n_trials=5", "trainer.max_epochs=1", "hydra.sweeper.sampler.seed=null"
    )
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr[-3000:]
    trials = load_trials(tmp_path)
    assert sorted(t.number for t in trials if t.state.name == "COMPLETE") == sorted(
        t.number for t in trials
    )
    assert len(trials) == 5
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.nope=1,2", "'model.nope'"),
        ("optimizer.lr=interval(0.1,0.01)", "empty range"),
        ("optimized_metric=val/rmse", "optimized_metric=val/rmse is never logged"),
        ("hydra.sweeper.storage=sqlite:///{file}/study.db", "cannot open the Optuna storage"),
    ],
)
def test_bad_input_is_one_line_before_any_trial(tmp_path: Path, override: str, message: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    sweep_dir = tmp_path / "sweep"
    result = run_sweep(sweep_dir, override.format(file=tmp_path / "file"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
    assert not list(sweep_dir.glob("trial_*"))


def test_search_space_syntax() -> None:
    model = {"hidden": [8, 8, 8], "activation": "relu"}
    cfg = OmegaConf.create({"optimizer": {"lr": 0.1}, "model": model})
    params = {
        "optimizer.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "model.hidden": {"type": "int", "low": 16, "high": 64, "step": 16},
        "model.activation": {"type": "categorical", "choices": ["relu", "tanh"]},
    }
    space = {p.key: p for p in search_space(params, [], cfg)}
    assert space["optimizer.lr"].distribution.log
    assert space["model.hidden"].distribution.step == 16
    assert space["model.hidden"].override(32) == "model.hidden=[32,32,32]"
    assert space["model.activation"].override("tanh") == "model.activation=tanh"
    per_layer = search_space({"model.hidden.1": {"type": "int", "low": 4, "high": 8}}, [], cfg)
    assert per_layer[0].override(5) == "model.hidden.1=5"
    lists = search_space({"model.hidden": {"type": "categorical", "choices": [[8], [16, 16]]}}, [], cfg)
    assert lists[0].override(lists[0].distribution.choices[1]) == "model.hidden=[16,16]"
    assert override_value(0.15000000000000002) == "0.15"
    assert override_value("sqlite:////tmp/a b.db") == "'sqlite:////tmp/a b.db'"


def test_surplus_trial_is_released_uncounted(tmp_path: Path) -> None:
    from trainlab.sweep.study import claim, open_study, remaining

    study = open_study("s", f"sqlite:///{tmp_path / 'study.db'}", "maximize")
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    first = claim(study, 1, space)
    assert first is not None and claim(study, 1, space) is None  # as if a second worker asked
    assert remaining(study, 1) == 0
    assert [t.user_attrs.get("uncounted") is not None for t in study.get_trials()] == [False, True]


def test_a_dead_workers_trial_is_run_again(tmp_path: Path) -> None:
    import time

    from trainlab.sweep.heartbeat import Heartbeat
    from trainlab.sweep.study import claim, open_storage, open_study, remaining

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = open_study("s", url, "maximize", heartbeat_interval=1)
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    lost = claim(study, 2, space)
    assert lost is not None
    with Heartbeat(open_storage(url, 1), "s", [lost], 1):
        pass  # one beat, then the worker "dies" with the trial RUNNING
    time.sleep(3.2)  # past the grace period (two intervals; SQLite stamps whole seconds)
    optuna.storages.fail_stale_trials(study)
    assert remaining(study, 2) == 1  # the stale trial does not count; its retry does
    again = claim(study, 2, space)
    assert again is not None and again.params == lost.params and again.number != lost.number
