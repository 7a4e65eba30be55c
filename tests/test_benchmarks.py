"""The speed benchmarks run end to end, as ``python -m benchmarks.<name>``, on a tiny
configuration and write complete JSON.

No timings are asserted: a shared machine makes them noisy. What is checked is that every
row ran and every figure the README quotes is there and positive.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report

from .helpers import REPO

EPOCH_ROWS = {"raw", "lightning_plain", "trainlab", "keras_plain", "keras", "per_sample", "floor"}
RATIOS = {
    "trainlab/raw",
    "trainlab/lightning_plain",
    "keras/keras_plain",
    "per_sample/trainlab",
    "trainlab/floor",
    "keras/raw",
}
CALLBACKS = {
    "early_stopping",
    "model_checkpoint",
    "rich_progress_bar",
    "model_summary",
}


def data_overrides() -> list[str]:
    """The real MNIST files when CI points at them, else scikit-learn's digits."""
    return ["data=mnist"] if os.environ.get("TRAINLAB_DATA_DIR") else ["data=digits"]


def run_benchmark(name: str, *args: str) -> str:
    """``python -m benchmarks.<name> args...`` from the repository root; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def is_positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def is_finite(value: object) -> bool:
    """A difference of two timings: noise may make it negative on a tiny configuration."""
    return isinstance(value, int | float) and math.isfinite(value)


def json_result(stdout: str, output: Path) -> dict[str, Any]:
    """A ``--json`` run's result: stdout is the JSON alone, the same as the file written."""
    result: dict[str, Any] = json.loads(stdout)
    assert result == json.loads(output.read_text())
    return result


def assert_runs(summary: dict[str, object], runs: int) -> None:
    assert isinstance(summary["runs"], list) and len(summary["runs"]) == runs
    assert is_positive(summary["median"])


@pytest.mark.slow
def test_epoch_benchmark_writes_every_row(tmp_path: Path) -> None:
    output = tmp_path / "epoch.json"
    stdout = run_benchmark(
        "epoch", *data_overrides(), "reps=1", "warmup=0", "max_samples=300", f"output={output}", "--json"
    )
    result = json_result(stdout, output)
    assert set(result["rows"]) == EPOCH_ROWS
    for row in result["rows"].values():
        assert row["available"], row
        assert_runs(row["seconds_per_epoch"], 1)
        assert is_positive(row["samples_per_second"])
    assert set(result["ratios"]) == RATIOS
    assert all(is_positive(value) for value in result["ratios"].values())
    assert result["config"]["train_samples"] == 300
    steps = math.ceil(300 / result["config"]["batch_size"])
    assert result["config"]["train_steps"] == steps
    assert set(result["engine_overhead"]) == {"lightning", "keras"}
    for extra in result["engine_overhead"].values():
        assert is_finite(extra["ms_per_epoch"]) and is_finite(extra["us_per_step"])
        assert extra["us_per_step"] == pytest.approx(1e3 * extra["ms_per_epoch"] / steps)
    assert is_positive(result["floor"]["gemm_flops_per_second"])
    assert result["machine"]["cores"] >= 1
    assert result["command"].startswith("python -m benchmarks.epoch ")
    assert "--json" not in result["command"]
    section = report.render("epoch", result, output).splitlines()
    assert any(line.startswith("| Lightning engine | plain Lightning | ") for line in section)
    assert any(line.startswith("| Keras engine / plain Keras fit | ") for line in section)


def test_epoch_digits_preset_is_the_seed_lesson() -> None:
    """``experiment=`` picks the lesson's groups: no MNIST default overrides its data."""
    import trainlab
    from benchmarks.epoch import parse_args

    options = parse_args(["experiment=digits_dropout", "output=bench/epoch_digits.json"])
    assert options.overrides == ["experiment=digits_dropout"]
    assert options.output == Path("bench/epoch_digits.json")
    cfg = trainlab.compose(*options.overrides)
    assert cfg.data._target_.endswith("DigitsDataModule") and cfg.data.batch_size == 20
    assert list(cfg.model.hidden) == [24, 24] and cfg.model.dropout == 0.25
    assert parse_args(["data=digits"]).overrides == ["model=mlp", "optimizer=sgd", "data=digits"]


@pytest.mark.slow
def test_step_overhead_benchmark_prices_every_part(tmp_path: Path) -> None:
    output = tmp_path / "overhead.json"
    stdout = run_benchmark("step_overhead", "reps=1", "warmup=0", f"output={output}", "--json")
    result = json_result(stdout, output)
    rows = {"raw", "lightning_bare", "lightning", "keras_bare", "keras"}
    rows |= {f"lightning_bare+{name}" for name in (*CALLBACKS, "logger")}
    assert set(result["us_per_step"]) == rows and not result["unavailable"]
    assert all(is_positive(value) for value in result["us_per_step"].values())
    parts = {"lightning loop", "keras loop", "keras engine callbacks and logging", *CALLBACKS, "logger"}
    assert set(result["cost_us_per_step"]) == parts
    assert result["steps_per_epoch"] == 292  # digits' 1,168 training images in batches of 4


@pytest.mark.slow
def test_epoch_overhead_benchmark_prices_every_part(tmp_path: Path) -> None:
    output = tmp_path / "epoch_overhead.json"
    stdout = run_benchmark(
        "epoch_overhead",
        "epochs=3",
        "short=1",
        "reps=1",
        "warmup=0",
        "threads=1",
        f"output={output}",
        "--json",
    )
    result = json_result(stdout, output)
    rows = {"notebook", "lightning_plain", "keras_plain", "keras", "lightning"}
    rows |= {f"lightning_no_{part}" for part in ("checkpoints", "logger", "progress_bar")}
    assert set(result["rows"]) == rows and not result["unavailable"]
    for row in result["rows"].values():
        assert is_finite(row["ms_per_epoch"]["median"]) and len(row["ms_per_epoch"]["runs"]) == 1
    parts = {"lightning total", "lightning loop", "lightning engine", "checkpoints", "logger"}
    parts |= {"progress bar", "keras total", "keras loop", "keras engine"}
    assert set(result["parts"]) == parts
    assert all(is_finite(part["ms_per_epoch"]) for part in result["parts"].values())
    config = result["config"]
    assert (config["lesson"], config["epochs"], config["short"]) == ("digits_sigmoid", 3, 1)
    assert config["batch_size"] == config["train_samples"] == 1257  # full batch: one step an epoch
    section = report.render("epoch_overhead", result, output)
    assert "| the Lightning engine beyond plain Lightning | " in section


@pytest.mark.slow
def test_startup_benchmark_writes_every_measure(tmp_path: Path) -> None:
    output = tmp_path / "startup.json"
    run_benchmark("startup", *data_overrides(), "runs=1", f"output={output}")
    result = json.loads(output.read_text())
    for key in ("first_step_s", "bad_override_s", "bad_value_s", "import_lightning_s"):
        assert_runs(result[key], 1)
    assert isinstance(result["first_step_s"]["met"], bool)
    assert isinstance(result["bad_override_s"]["met"], bool)


@pytest.mark.slow
def test_resume_benchmark_finds_a_killed_run_continued_exactly(tmp_path: Path) -> None:
    output = tmp_path / "resume.json"
    # the Keras engine's exactness after a kill is tests/test_resume.py's
    options = ("datasets=digits", "engines=lightning", "digits_epochs=2", "runs=1", "saves=2")
    run_benchmark("resume", *options, f"output={output}")
    result = json.loads(output.read_text())
    assert set(result["exactness"]) == {"digits/lightning"}
    for case in result["exactness"].values():
        assert case["metrics_max_abs_diff"] == 0 and case["metrics_same_keys"], case
        assert case["history_identical"] and case["exact"], case
    assert result["exactness"]["digits/lightning"]["mid_epoch"]
    for key in ("resumed_s", "fresh_s"):
        assert_runs(result["first_step"][key], 1)
    save = result["checkpoint_save"]
    assert_runs(save["save_s"], 2)
    assert is_positive(save["checkpoint_bytes"]) and is_positive(save["epoch_share"])
    assert isinstance(save["met"], bool)
    assert result["machine"]["cores"] >= 1
    assert result["command"].startswith("python -m benchmarks.resume ")


@pytest.mark.slow
def test_figures_benchmark_writes_both_settings(tmp_path: Path) -> None:
    output = tmp_path / "figures.json"
    run_benchmark("figures", "runs=1", "trainer.max_epochs=2", f"output={output}")
    result = json.loads(output.read_text())
    for key in ("run_with_figures_s", "run_without_figures_s", "drawing_s"):
        assert_runs(result[key], 1)
    assert 0 < result["drawing_fraction"] < 1 and isinstance(result["met"], bool)


def test_sweep_overhead_fits_the_per_trial_cost(tmp_path: Path) -> None:
    """Trials made to cost 0.5 s each beyond 0.01 s per epoch per width unit."""
    trials = tmp_path / "trials.csv"
    lines = ["number,state,value,duration_s,epochs,model.hidden,error"]
    for number, (epochs, width) in enumerate([(10, 64), (20, 128), (5, 256), (40, 32), (15, 512)]):
        lines.append(f"{number},COMPLETE,0.9,{0.5 + 0.01 * epochs * width},{epochs},{width},")
    lines.append("5,FAIL,,,,64,boom")
    trials.write_text("\n".join(lines) + "\n")
    stdout = run_benchmark("sweep_overhead", str(trials), "width_key=model.hidden")
    assert f"{trials}: 0.50 s per trial beyond its epochs (5 trials)" in stdout
