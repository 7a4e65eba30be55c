"""Fresh interpreters, as a user starts them: ``train.py`` runs and bare imports, timed
from just before the spawn."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

REPO = Path(__file__).resolve().parents[1]


def train_command(overrides: Sequence[str]) -> list[str]:
    """``python train.py <overrides>``; ``train.py`` puts the repository on its path, so
    Hydra can build ``benchmarks.*`` targets there."""
    return [sys.executable, str(REPO / "train.py"), *overrides]


def run_timed(command: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds from spawn to exit of ``command`` (run from the repository root)."""
    start = perf_counter()
    done = subprocess.run(list(command), cwd=REPO, capture_output=True, text=True)
    return perf_counter() - start, done


def failure(command: Sequence[str], done: subprocess.CompletedProcess[str]) -> RuntimeError:
    return RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
