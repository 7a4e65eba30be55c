"""Run directories say what a run is, and two runs never share one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import trainlab
from trainlab.config.resolvers import names_only

from .helpers import REPO


def run_dir_of(*overrides: str) -> str:
    """Where ``train.py <overrides>`` would write, without creating it."""
    cfg = trainlab.compose(*overrides)
    with names_only():
        return str(OmegaConf.select(cfg, "hydra.run.dir"))


def test_a_run_is_named_by_its_data_model_and_engine() -> None:
    assert run_dir_of().endswith("_digits-mlp-lightning")
    assert run_dir_of("data=housing", "model=linear", "engine=keras").endswith("_housing-linear-keras")
    assert run_dir_of("experiment=digits_dropout", "engine=keras").endswith("_digits_dropout-keras")
    assert run_dir_of("name=my_try").endswith("_my_try")


def test_a_name_already_taken_gets_the_next_number(tmp_path: Path) -> None:
    def claimed() -> str:  # a run's config, as each process composes its own
        cfg = OmegaConf.create(
            {
                "choices": {"data": "digits"},
                "dir": f"${{trainlab.claim:{tmp_path}/07-00-00_x,${{choices}}}}",
            }
        )
        first = str(cfg.dir)
        assert cfg.dir == first  # one config resolves to one directory however often it is read
        return first

    dirs = [claimed() for _ in range(3)]
    assert dirs == [f"{tmp_path}/07-00-00_x", f"{tmp_path}/07-00-00_x_2", f"{tmp_path}/07-00-00_x_3"]
    assert all(Path(d).is_dir() for d in dirs)


def test_a_config_merged_into_a_run_directory_claims_none(tmp_path: Path) -> None:
    # hparams_search sets hydra.sweep.dir: OmegaConf resolves the default's value as it
    # merges, before Hydra records the choices; the run directory is then named in full
    cfg = trainlab.compose("hparams_search=digits_optuna", f"paths.log_dir={tmp_path}")
    assert [p.name for p in tmp_path.iterdir()] == []
    assert str(cfg.hydra.sweep.dir) == f"{tmp_path}/sweeps/digits_optuna"
    assert str(cfg.hydra.run.dir).endswith("_digits-mlp-lightning")
    assert Path(str(cfg.hydra.run.dir)).is_dir()


@pytest.mark.slow
def test_two_runs_started_together_get_their_own_directories(tmp_path: Path) -> None:
    elsewhere = tmp_path / "cwd"  # the directory the command is typed in gets nothing
    elsewhere.mkdir()
    logs = tmp_path / "logs"
    command = [
        sys.executable,
        str(REPO / "train.py"),
        f"paths.log_dir={logs}",
        "trainer.max_epochs=1",
        "figures=false",
        "~callbacks.rich_progress_bar",
        "~callbacks.model_summary",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(command, cwd=elsewhere, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert not any(elsewhere.iterdir())
    runs = sorted(path.parent for path in logs.rglob("run.json"))
    assert len(runs) == 2 and all(
        run.name.split("_", 1)[1].startswith("digits-mlp-lightning") for run in runs
    )
    pids = {json.loads((run / "run.json").read_text())["pid"] for run in runs}
    assert pids == {process.pid for process in processes}  # each run's files are its own
