"""The speed benchmarks run end to end on a tiny configuration and write complete JSON.

No timings are asserted: these machines are shared and noisy. What is checked is that
every row ran (or says why not) and every ratio the README quotes is there.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EPOCH_ROWS = {"raw", "trainlab", "keras", "per_sample", "floor"}
RATIOS = {"trainlab/raw", "per_sample/trainlab", "trainlab/floor", "keras/raw"}


def data_overrides() -> list[str]:
    """The real MNIST files when CI points at them, else scikit-learn's digits."""
    return ["data=mnist"] if os.environ.get("TRAINLAB_DATA_DIR") else ["data=digits"]


def run_script(name: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def is_positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def keras_engine_present() -> bool:
    return importlib.util.find_spec("trainlab.engines.keras") is not None


@pytest.mark.slow
def test_bench_epoch_writes_every_row(tmp_path: Path) -> None:
    output = tmp_path / "epoch.json"
    run_script(
        "bench_epoch.py", *data_overrides(), "reps=1", "warmup=0", "max_samples=300", f"output={output}"
    )
    result = json.loads(output.read_text())
    assert set(result["rows"]) == EPOCH_ROWS
    for name, row in result["rows"].items():
        if name == "keras" and not keras_engine_present():
            assert not row["available"] and row["reason"]
            continue
        assert row["available"], row
        assert len(row["seconds_per_epoch"]["runs"]) == 1
        assert is_positive(row["seconds_per_epoch"]["median"])
        assert is_positive(row["samples_per_second"])
    assert set(result["ratios"]) == RATIOS == set(result["targets"])
    assert all(
        is_positive(v) for k, v in result["ratios"].items() if k != "keras/raw" or keras_engine_present()
    )
    assert result["config"]["train_samples"] == 300
    assert is_positive(result["floor"]["gemm_flops_per_second"])
    assert result["machine"]["cores"] >= 1


@pytest.mark.slow
def test_bench_startup_writes_both_measures(tmp_path: Path) -> None:
    output = tmp_path / "startup.json"
    run_script("bench_startup.py", *data_overrides(), "runs=1", f"output={output}")
    result = json.loads(output.read_text())
    for key in ("first_step_s", "bad_override_s", "import_lightning_s"):
        assert len(result[key]["runs"]) == 1
        assert is_positive(result[key]["median"])
    assert isinstance(result["first_step_s"]["met"], bool)
    assert isinstance(result["bad_override_s"]["met"], bool)


@pytest.mark.slow
def test_bench_figures_writes_both_settings(tmp_path: Path) -> None:
    output = tmp_path / "figures.json"
    run_script("bench_figures.py", "runs=1", "trainer.max_epochs=2", f"output={output}")
    result = json.loads(output.read_text())
    for key in ("run_with_figures_s", "run_without_figures_s", "drawing_s"):
        assert len(result[key]["runs"]) == 1 and is_positive(result[key]["median"])
    assert 0 < result["drawing_fraction"] < 1 and isinstance(result["met"], bool)


@pytest.mark.slow
def test_bench_step_overhead_prices_every_part(tmp_path: Path) -> None:
    output = tmp_path / "overhead.json"
    run_script("bench_step_overhead.py", "reps=1", "warmup=0", f"output={output}")
    result = json.loads(output.read_text())
    callbacks = {"early_stopping", "model_checkpoint", "rich_progress_bar"}
    callbacks |= {"learning_rate_monitor", "model_summary"}
    assert {"raw", "lightning_bare", "lightning", "keras_bare", "keras"} <= set(result["us_per_step"])
    assert {f"lightning_bare+{name}" for name in (*callbacks, "logger")} <= set(result["us_per_step"])
    assert all(is_positive(value) for value in result["us_per_step"].values())
    assert {"lightning loop", "keras loop", *callbacks} <= set(result["cost_us_per_step"])
    assert result["steps_per_epoch"] == 292  # digits' 1,168 training images in batches of 4
