"""The Optuna sweeper through the CLI: report, resume, failures, pruning, workers, bad input,
and trials that never reached an outcome (a killed sweep, an interrupted one) running again.

Each sweep is one ``train.py -m`` process: the basic launcher runs its trials in that
process, so the imports are paid once per sweep, not once per trial.
"""

from __future__ import annotations

import csv
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from trainlab.errors import RunInterrupted
from trainlab.sweep.space import override_value, search_space
from trainlab.sweep.study import finished

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


def run_sweep(
    sweep_dir: Path, *overrides: str, env: dict[str, str] = ENV
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sweep_command(sweep_dir, *overrides),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def load_study(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name="digits_optuna", storage=f"sqlite:///{sweep_dir / 'study.db'}")


def load_trials(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    """The trials that count toward ``n_trials``: those that ran to an outcome."""
    return [t for t in load_study(sweep_dir).get_trials() if finished(t)]


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
    for n in range(6):  # <trial number>_<its parameters>
        (trial_dir,) = sweep_dir.glob(f"{n}_*optimizer.lr=*")
        assert (trial_dir / "metrics.json").is_file()


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


@pytest.mark.slow
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
    assert not list(sweep_dir.glob("[0-9]*"))


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


SPACE = {"x": optuna.distributions.FloatDistribution(0, 1)}


def heartbeat_study(tmp_path: Path) -> tuple[optuna.Study, str]:
    from trainlab.sweep.study import open_study

    url = f"sqlite:///{tmp_path / 'study.db'}"
    return open_study("s", url, "maximize", heartbeat_interval=1), url


@pytest.mark.slow  # waits out a heartbeat
def test_a_dead_workers_trial_is_run_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from trainlab.sweep.recovery import Heartbeat, trials_to_start
    from trainlab.sweep.study import claim, close, open_storage

    study, url = heartbeat_study(tmp_path)
    lost = claim(study, 2, SPACE)
    assert lost is not None
    with Heartbeat(open_storage(url, 1), "s", [lost], 1):
        pass  # one beat, then the worker "dies" with the trial RUNNING
    done = claim(study, 2, SPACE)
    assert done is not None and close(study, done, optuna.trial.TrialState.COMPLETE, 0.5)
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="trainlab.sweep.recovery"):
        assert trials_to_start(study, 2, 1) == 1  # waits until the dead trial's heartbeat is stale
    assert time.monotonic() - start < 2 + 2 + 1.5  # the grace period, SQLite's whole seconds, a poll
    waits = [r.message for r in caplog.records if r.message.startswith("waiting")]
    assert len(waits) == 1 and waits[0].startswith("waiting up to 2 s for trial(s) 0 of another worker")
    again = claim(study, 2, SPACE)
    assert again is not None and again.params == lost.params and again.number == 2
    assert study.get_trials()[again.number].system_attrs["failed_trial"] == lost.number


@pytest.mark.slow  # waits out a heartbeat
def test_a_live_workers_trial_is_left_to_it(tmp_path: Path) -> None:
    from trainlab.sweep.recovery import Heartbeat, trials_to_start
    from trainlab.sweep.study import claim, open_storage

    study, url = heartbeat_study(tmp_path)
    alive = claim(study, 1, SPACE)
    assert alive is not None
    with Heartbeat(open_storage(url, 1), "s", [alive], 1):
        assert trials_to_start(study, 1, 1) == 0  # after the grace period: it still beats
    assert [t.state.name for t in study.get_trials()] == ["RUNNING"]


class FakeLauncher:
    """Hydra's launcher for ``_run_trials``: each job "returns" the next of ``outcomes``."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes, self.launched = list(outcomes), 0

    def launch(self, batch: list[list[str]], initial_job_idx: int) -> list[object]:
        from hydra.core.utils import JobReturn, JobStatus

        self.launched += len(batch)
        returns = []
        for _ in batch:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
            ret = JobReturn(
                status=JobStatus.FAILED if isinstance(outcome, Exception) else JobStatus.COMPLETED
            )
            ret.return_value = outcome
            returns.append(ret)
        return returns


@pytest.mark.parametrize(
    "stop",
    [RunInterrupted("SIGINT stopped the run in epoch 2", signal.SIGINT), KeyboardInterrupt()],
    ids=["run-interrupted", "keyboard-interrupt"],
)
def test_an_interrupted_trial_stops_the_sweep_and_runs_again(
    tmp_path: Path, stop: BaseException
) -> None:
    from trainlab.sweep.optuna_sweeper import OptunaSweeper
    from trainlab.sweep.study import open_study

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = open_study("s", url, "maximize")
    space = search_space({"x": {"type": "float", "low": 0, "high": 1}}, [], OmegaConf.create({"x": 0.5}))
    sweeper = OptunaSweeper("s", n_trials=3, heartbeat_interval=None)
    sweeper.launcher = FakeLauncher({"val/acc": 0.5}, stop, {"val/acc": 0.9})
    states, stopped = sweeper._run_trials(study, space, [], url, "val/acc")
    assert sweeper.launcher.launched == 2 and len(states) == 1  # no trial after the interrupted one
    assert isinstance(stopped, RunInterrupted) and stopped.exit_code == 130
    assert str(stopped).endswith("; trial 1 runs again when the sweep is rerun")
    interrupted = study.get_trials()[1]
    assert interrupted.state.name == "FAIL" and "SIGINT stopped" in interrupted.user_attrs["interrupted"]
    sweeper.launcher = FakeLauncher({"val/acc": 0.7}, {"val/acc": 0.8})  # the next invocation
    states, stopped = sweeper._run_trials(study, space, [], url, "val/acc")
    assert stopped is None and len(states) == 2
    trials = [t for t in study.get_trials() if finished(t)]
    assert [t.number for t in trials] == [0, 2, 3] and [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert trials[1].system_attrs["failed_trial"] == 1 and trials[1].params == interrupted.params


def wait_for_progress(sweep_dir: Path, process: subprocess.Popen[str]) -> optuna.trial.FrozenTrial:
    """The sweep's RUNNING trial once it has reported an epoch (polling its storage)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            running = load_study(sweep_dir).get_trials(states=(optuna.trial.TrialState.RUNNING,))
        except Exception:  # the sweep has not created the study yet
            running = []
        if running and running[0].intermediate_values:
            return running[0]
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"no trial made progress: {process.communicate()[1][-3000:]}")


def start_sweep(sweep_dir: Path, *overrides: str) -> subprocess.Popen[str]:
    """A sweep in its own process group, as a shell runs it: a signal reaches all of it."""
    return subprocess.Popen(
        sweep_command(sweep_dir, *overrides),
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def assert_rerun_completes(sweep_dir: Path, lost: optuna.trial.FrozenTrial, *overrides: str) -> None:
    """Rerunning the command ends with ``n_trials`` (2) finished trials, one of them ``lost`` again."""
    result = run_sweep(sweep_dir, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = load_trials(sweep_dir)
    assert len(trials) == 2 and lost.number not in [t.number for t in trials]
    again = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
    assert len(again) == 1 and again[0].params == lost.params and again[0].state.name == "COMPLETE"
    assert len(csv_rows(sweep_dir)) == 2


# Two trials of up to 8 epochs: time to see the first one report an epoch, then stop it.
LONG_TRIALS = ("hydra.sweeper.n_trials=2", "trainer.max_epochs=8", "hydra.sweeper.pruner=none")


@pytest.mark.slow
def test_a_killed_sweep_reruns_its_trial(tmp_path: Path) -> None:
    overrides = (*LONG_TRIALS, "hydra.sweeper.heartbeat_interval=1")
    sweep = start_sweep(tmp_path, *overrides)
    lost = wait_for_progress(tmp_path, sweep)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.communicate(timeout=60)
    assert load_study(tmp_path).get_trials()[lost.number].state.name == "RUNNING"
    assert_rerun_completes(tmp_path, lost, *overrides)


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_and_the_rerun_runs_the_trial_again(tmp_path: Path) -> None:
    sweep = start_sweep(tmp_path, *LONG_TRIALS)
    lost = wait_for_progress(tmp_path, sweep)
    os.killpg(sweep.pid, signal.SIGINT)
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]  # the one line of the error that stopped it
    assert last.endswith(f"trial {lost.number} runs again when the sweep is rerun"), stderr[-3000:]
    trials = load_study(tmp_path).get_trials()
    assert "SIGINT" in trials[lost.number].user_attrs["interrupted"]
    assert [t.state.name for t in trials[lost.number + 1 :]] == ["WAITING"]
    assert_rerun_completes(tmp_path, lost, *LONG_TRIALS)


@pytest.mark.slow
def test_an_error_with_markup_is_reported_literally(tmp_path: Path) -> None:
    error = "RuntimeError: [/red] gloo [bold]connection closed[/]"
    study = optuna.create_study(
        study_name="digits_optuna", storage=f"sqlite:///{tmp_path / 'study.db'}", direction="maximize"
    )
    study.add_trial(optuna.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"error": error}))
    wide = {**ENV, "COLUMNS": "300"}  # the error column, unfolded
    for _ in range(2):  # the second run of the study runs nothing new, and reports again
        result = run_sweep(tmp_path, "hydra.sweeper.n_trials=2", env=wide)
        assert result.returncode == 0, result.stderr[-3000:]
        assert error in result.stdout and "MarkupError" not in result.stderr
        assert [row["error"] for row in csv_rows(tmp_path)] == [error, ""]
