"""``python -m benchmarks.dashboard`` runs end to end on a tiny configuration, writes
complete JSON, and its section of the results document renders.

No timings are asserted (a shared machine makes them noisy); the event file bytes are
checked to add up, since the results document quotes them by kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import report

from .test_benchmarks import assert_runs, is_positive, run_benchmark


@pytest.mark.slow
def test_dashboard_benchmark_writes_every_measure(tmp_path: Path) -> None:
    output = tmp_path / "dashboard.json"
    run_benchmark("dashboard", "runs=1", "pairs=1", "epochs=1", f"output={output}")
    result = json.loads(output.read_text())
    dashboard = result["dashboard"]
    assert_runs(dashboard["first_answer_s"], 1)
    assert_runs(dashboard["runs_shown_s"], 1)
    assert dashboard["runs_shown_s"]["median"] >= dashboard["first_answer_s"]["median"]
    for key in ("run_with_tensorboard_s", "run_without_tensorboard_s", "logger_calls_s"):
        assert_runs(result[key], 1)
    assert_runs(result["tensorboard_imports_s"], 1)
    assert isinstance(result["met"], bool) and result["target_fraction"] == 0.02

    files = result["event_files"]
    for run, kinds in (("run", {"scalars", "text", "images"}), ("summary", {"hparams", "scalars"})):
        assert kinds <= set(files[run]["by_kind"]), files[run]
        assert sum(files[run]["by_kind"].values()) == files[run]["bytes"]
    assert files["total_bytes"] == files["run"]["bytes"] + files["summary"]["bytes"]
    assert is_positive(files["total_bytes"])
    assert result["machine"]["cores"] >= 1

    section = "\n".join(report.dashboard_section(result))
    assert f"{files['total_bytes']:,}" in section and "< 2%" in section
