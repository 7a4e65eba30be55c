"""How long ``python train.py`` makes a user wait: to the first training step, and to
the rejection of a bad override: a group option with no config file, refused from
``conf/`` alone, and a bad value, which the composed config refuses.

    python -m benchmarks.startup                  # 5 runs each, writes bench/startup.json
    python -m benchmarks.startup runs=1 output=/tmp/startup.json data=digits

Options: ``runs``, ``output``; other ``key=value`` arguments are passed to ``train.py``.
The first step is stamped by ``benchmarks.stamp``, added with ``+callbacks.first_step=...``
to the measured runs only. Each run is a fresh process, timed from just before it is
spawned; the four measures alternate, so a busy neighbour slows them alike.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import command_line, split_options, summary, write_result
from benchmarks.machine import host
from benchmarks.processes import REPO, failure, run_timed, train_command

OPTIONS = {"runs": 5, "output": "bench/startup.json"}
BAD_OVERRIDE = "model=nope"
#: A value only the composed config can refuse (Hydra is imported for it).
BAD_VALUE = "optimizer.lr=-1"
TARGETS = {"first_step_s": 4.0, "bad_override_s": 0.3}
POLL_SECONDS = 0.02
LABELS = {
    "first_step_s": "process start -> first training step",
    "bad_override_s": f"{BAD_OVERRIDE} rejected",
    "bad_value_s": f"{BAD_VALUE} rejected",
    "import_lightning_s": "python -c 'import lightning.pytorch' (reference)",
}


def time_to_first_step(overrides: Sequence[str], scratch: Path) -> float:
    """Seconds from spawning ``train.py`` to its first training batch.

    The run is stopped once the stamp is written: what follows is not startup.
    """
    stamp = scratch / "first_step"
    stamp.unlink(missing_ok=True)
    command = train_command(
        [
            *overrides,
            f"paths.log_dir={scratch / 'outputs'}",
            "+callbacks.first_step._target_=benchmarks.stamp.first_step_stamp",
            f"+callbacks.first_step.path={stamp}",
        ]
    )
    start = time.time()
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        while not stamp.exists() and process.poll() is None:
            time.sleep(POLL_SECONDS)
        if stamp.exists():
            process.terminate()
        _, stderr = process.communicate()
    if not stamp.exists():
        raise failure(command, subprocess.CompletedProcess(command, process.returncode, "", stderr))
    return float(stamp.read_text()) - start


def time_to_rejection(overrides: Sequence[str], bad: str = BAD_OVERRIDE) -> float:
    """Seconds until ``train.py`` exits non-zero on the bad override ``bad``."""
    command = train_command([*overrides, bad])
    seconds, done = run_timed(command)
    if done.returncode == 0:
        raise RuntimeError(f"{' '.join(command)} was accepted")
    return seconds


def time_import(module: str) -> float:
    """Seconds for a fresh interpreter to import ``module``: a reference for the first step."""
    command = [sys.executable, "-c", f"import {module}"]
    seconds, done = run_timed(command)
    if done.returncode != 0:
        raise failure(command, done)
    return seconds


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"python train.py {' '.join(result['overrides'])}".rstrip())
    for column in ("measure", "median s", "min-max s", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, label in LABELS.items():
        row = result[key]
        met = {True: "yes", False: "NO"}.get(row.get("met"), "-")
        target = f"<= {row['target']}" if "target" in row else ""
        table.add_row(label, f"{row['median']:.2f}", f"{row['min']:.2f}-{row['max']:.2f}", target, met)
    Console().print(table)


def main(argv: Sequence[str]) -> dict[str, Any]:
    own, overrides = split_options(argv, OPTIONS, __doc__ or "")
    runs, output = int(own["runs"]), Path(str(own["output"]))
    first, rejected, refused_value, lightning = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="trainlab-startup-") as scratch:
        for _ in range(runs):
            first.append(time_to_first_step(overrides, Path(scratch)))
            rejected.append(time_to_rejection(overrides))
            refused_value.append(time_to_rejection(overrides, BAD_VALUE))
            lightning.append(time_import("lightning.pytorch"))
    result = {
        "benchmark": "python train.py: seconds to the first training step and to a rejected override",
        "command": command_line("benchmarks.startup", argv),
        "machine": host(),  # the runs are other processes: no torch settings of this one
        "overrides": overrides,
        "first_step_s": summary(first, TARGETS["first_step_s"]),
        "bad_override_s": summary(rejected, TARGETS["bad_override_s"]),
        "bad_value_s": summary(refused_value),
        "import_lightning_s": summary(lightning),
    }
    print_table(result)
    write_result(output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
