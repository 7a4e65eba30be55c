"""Under DDP, validation and test count every sample exactly once.

A split that two ranks cannot share evenly must not be padded with repeats for
evaluation: ``metrics.json`` then equals ``eval.py`` on the same checkpoint, which
evaluates on one process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import run_script

pytestmark = pytest.mark.slow


def test_ddp_metrics_of_an_odd_split_equal_a_single_process_evaluation(tmp_path: Path) -> None:
    # 1,797 digits with test_fraction 0.1995: a test split of 359, odd, so two ranks get
    # 180 and 179 samples; padding would count one test digit twice.
    run = run_script(
        "train.py",
        ["trainer=ddp_cpu", "data.test_fraction=0.1995", "trainer.max_epochs=1", "figures=false"],
        tmp_path / "run",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    evaluated = run_script(
        "eval.py", [f"ckpt_path={run.run_dir / 'checkpoints' / 'best.ckpt'}"], tmp_path / "eval"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    trained = json.loads((run.run_dir / "metrics.json").read_text())
    for name in ("test/acc", "test/loss"):
        assert trained[name] == pytest.approx(evaluated.metrics[name], abs=1e-6), name
    # 359 test digits: an accuracy is a multiple of 1/359 (with padding: k/360).
    correct = trained["test/acc"] * 359
    assert correct == pytest.approx(round(correct), abs=1e-3), trained["test/acc"]
