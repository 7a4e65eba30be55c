"""Runs that survive what goes wrong: kill and resume, signals, failed writes.

Every test drives the real CLI in a subprocess, as a job scheduler or a person would:
SIGKILL at a mid-epoch checkpoint and ``resume=``, SIGINT and SIGTERM, a full disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import REPO, run_script

pytestmark = pytest.mark.slow

# Dropout on, so the RNG state must survive too; a mid-epoch checkpoint every 5 steps.
RUN = [
    "model=mlp_dropout",
    "data.batch_size=32",
    "trainer.max_epochs=3",
    "callbacks.mid_epoch_checkpoint.every_n_steps=5",
    "figures=false",
    "seed=3",
]
SUFFIX = {"lightning": ".ckpt", "keras": ".keras"}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "train.py", *args],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert process.poll() is None, f"the run ended before {path} was written"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _resume(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "train.py", f"resume={run_dir}", *overrides],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("engine", ["lightning", "keras"])
def test_a_killed_run_resumed_ends_exactly_as_an_uninterrupted_one(tmp_path: Path, engine: str) -> None:
    args = [*RUN, f"engine={engine}"]
    whole = run_script("train.py", args, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr

    killed = tmp_path / "killed"
    process = _start([*args, f"hydra.run.dir={killed}"])
    _wait_for(killed / "checkpoints" / f"last{SUFFIX[engine]}", process)
    process.kill()  # SIGKILL: no handler runs
    process.wait()
    assert not (killed / "metrics.json").exists()

    resumed = _resume(killed)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((killed / "metrics.json").read_text()) == whole.metrics
    assert (killed / "history.csv").read_text() == (whole.run_dir / "history.csv").read_text()
    if engine == "lightning":
        import torch

        # The mid-epoch saves and Lightning's own keep to one last.ckpt (no last-v1.ckpt).
        names = sorted(p.name for p in (killed / "checkpoints").iterdir())
        assert names == ["best.ckpt", "last.ckpt"]

        best = [
            torch.load(d / "checkpoints" / "best.ckpt", weights_only=False)["state_dict"]
            for d in (whole.run_dir, killed)
        ]
        assert best[0].keys() == best[1].keys()
        assert all(torch.equal(best[0][k], best[1][k]) for k in best[0])


@pytest.mark.parametrize("engine", ["lightning", "keras"])
def test_tensorboard_continues_a_resumed_run_with_each_epoch_once(tmp_path: Path, engine: str) -> None:
    """Killed right after a checkpoint, with the event file's timed flush far off: the
    epochs the checkpoint records are in the file, the resumed run adds the rest.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    epochs = 6
    process = _start(
        [
            *RUN,
            f"engine={engine}",
            f"trainer.max_epochs={epochs}",
            "callbacks.mid_epoch_checkpoint.every_n_steps=100",  # step 100: in epoch 3
            "logger.tensorboard.flush_seconds=3600",
            f"hydra.run.dir={run_dir}",
        ]
    )
    _wait_for(run_dir / "checkpoints" / f"last{SUFFIX[engine]}", process)
    process.kill()
    process.wait()
    assert _resume(run_dir).returncode == 0
    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert [event.step for event in events.Scalars("val/loss")] == list(range(1, epochs + 1))


@pytest.mark.parametrize(
    ("engine", "signal_number", "exit_code"),
    [
        ("lightning", signal.SIGINT, 130),
        ("lightning", signal.SIGTERM, 143),
        ("keras", signal.SIGTERM, 143),
    ],
)
def test_a_signal_stops_the_run_after_its_step_with_the_signals_exit_code(
    tmp_path: Path, engine: str, signal_number: int, exit_code: int
) -> None:
    run_dir = tmp_path / "run"
    args = [*RUN, f"engine={engine}", "trainer.max_epochs=200", f"hydra.run.dir={run_dir}"]
    process = _start(args)
    _wait_for(run_dir / "checkpoints" / f"last{SUFFIX[engine]}", process)
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("trainlab: error:")]
    assert len(errors) == 1 and "stopped the run" in errors[0]
    assert "Traceback" not in stderr
    assert f"resume={run_dir}" in stdout
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert set(json.loads((run_dir / "metrics.json").read_text())) <= {"val/loss", "val/acc"}
    assert (run_dir / "checkpoints" / f"last{SUFFIX[engine]}").is_file()
    more = json.loads((run_dir / "run.json").read_text())["epochs"] + 2  # the signal came then
    resumed = _resume(run_dir, f"trainer.max_epochs={more}")
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "finished" and record["epochs"] == more, (record, more)


def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path: Path) -> None:
    done = run_script("train.py", ["trainer.max_epochs=1", "figures=false"], tmp_path / "run")
    assert done.returncode == 0
    before = {p: p.stat().st_mtime_ns for p in done.run_dir.rglob("*") if p.is_file()}
    again = _resume(done.run_dir)
    assert again.returncode == 0
    assert "finished already" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in done.run_dir.rglob("*") if p.is_file()} == before


def test_resume_refuses_to_change_what_is_trained(tmp_path: Path) -> None:
    done = run_script("train.py", ["trainer.max_epochs=1", "figures=false"], tmp_path / "run")
    (done.run_dir / "run.json").unlink()  # as if it had been killed before its first write
    (done.run_dir / "metrics.json").unlink()
    refused = _resume(done.run_dir, "model.hidden=[8]")
    assert refused.returncode == 2
    assert (
        refused.stderr.strip().splitlines() == [refused.stderr.strip().splitlines()[0]]
        and "model.hidden=[8] cannot change" in refused.stderr
    )
    missing = _resume(tmp_path / "nowhere")
    assert missing.returncode == 2 and "not a trainlab run directory" in missing.stderr


def _tmpfs(path: Path, size: str) -> bool:
    """Mount a small tmpfs at ``path`` (root only; some sandboxes refuse it)."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        return False
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return mounted.returncode == 0


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_so_in_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "small"
    if not _tmpfs(run_dir, "1200k"):
        pytest.skip("cannot mount a tmpfs here; the simulated write failure below still runs")
    try:
        # 64-256-256-10 with Adam: each checkpoint is about 1 MB, so the second one fails.
        result = run_script("train.py", ["trainer.max_epochs=5", "figures=false"], run_dir)
        assert result.returncode == 1
        errors = result.error_lines()
        assert len(errors) == 1 and "No space left on device" in errors[0], result.stderr
        import torch

        saved = [p for p in (run_dir / "checkpoints").glob("*.ckpt")]
        assert saved, "the first checkpoint was kept"
        for path in saved:
            torch.load(path, weights_only=False)  # whole, not truncated
        assert not list((run_dir / "checkpoints").glob(".*partial*"))
    finally:
        subprocess.run(["umount", str(run_dir)], check=False)


def test_a_failed_write_leaves_the_previous_file(tmp_path: Path) -> None:
    from trainlab.errors import WriteError
    from trainlab.run import write_atomically

    path = tmp_path / "metrics.json"
    path.write_text("previous")

    def fails_half_way(target: Path) -> None:
        target.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteError, match="No space left on device; the previous file is kept"):
        write_atomically(path, fails_half_way)
    assert path.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


@pytest.mark.parametrize("engine", ["lightning", "keras"])
def test_a_truncated_checkpoint_is_one_line_without_unsafe_advice(tmp_path: Path, engine: str) -> None:
    done = run_script(
        "train.py", ["trainer.max_epochs=1", "figures=false", f"engine={engine}"], tmp_path / "r"
    )
    best = done.run_dir / "checkpoints" / f"best{SUFFIX[engine]}"
    best.write_bytes(best.read_bytes()[:2000])
    result = run_script("eval.py", [f"ckpt_path={best}"], tmp_path / "eval")
    assert result.returncode == 1
    assert len(result.error_lines()) == 1 and str(best) in result.error_lines()[0]
    assert "weights_only" not in result.stderr and "Traceback" not in result.stderr


def test_a_continued_run_keeps_its_own_name_and_choices(tmp_path: Path) -> None:
    args = ["experiment=addition", "engine=keras", "trainer.max_epochs=1", "figures=false"]
    done = run_script("train.py", args, tmp_path / "run")
    assert done.returncode == 0, done.stderr
    record = json.loads((done.run_dir / "run.json").read_text())
    (done.run_dir / "run.json").write_text(json.dumps({**record, "status": "running"}))  # killed
    again = _resume(done.run_dir)
    assert again.returncode == 0, again.stderr
    resumed = json.loads((done.run_dir / "run.json").read_text())
    assert (resumed["name"], resumed["data"], resumed["engine"]) == (
        "addition-keras",
        "addition",
        "keras",
    )
    assert resumed["command"] == record["command"] and resumed["status"] == "finished"
