"""How long ``python train.py`` makes a user wait: to the first training step, and to
the rejection of a bad override.

    python scripts/bench_startup.py                  # 5 runs each, writes bench/startup.json
    python scripts/bench_startup.py runs=1 output=/tmp/startup.json data=digits

Other ``key=value`` arguments are passed to ``train.py``. The first step is stamped by
``first_step_stamp``, a callback from this file added with ``+callbacks.first_step=...``
for the measured runs only, so normal runs carry no timing code. Each run is a fresh
process, timed from just before it is spawned.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_args import split_options, write_result

REPO = Path(__file__).resolve().parents[1]
OPTIONS = {"runs": 5, "output": "bench/startup.json"}
BAD_OVERRIDE = "model=nope"
TARGETS = {"first_step_s": 6.0, "bad_override_s": 1.5}
POLL_SECONDS = 0.02


def first_step_stamp(path: str) -> Any:
    """A Lightning callback that writes ``time.time()`` to ``path`` at the first training
    batch. Built by Hydra inside ``train.py``, where Lightning is already imported."""
    from lightning.pytorch import Callback

    class FirstStepStamp(Callback):
        def __init__(self) -> None:
            self.written = False

        def on_train_batch_start(self, *args: Any) -> None:
            if not self.written:
                partial = Path(f"{path}.partial")
                partial.write_text(repr(time.time()))
                partial.replace(path)  # the parent sees the whole stamp or none
                self.written = True

    return FirstStepStamp()


def train_command(overrides: list[str]) -> list[str]:
    return [sys.executable, str(REPO / "train.py"), *overrides]


def environment() -> dict[str, str]:
    """``train.py``'s environment plus this directory, so Hydra can import the stamp."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")])
    )
    return env


def time_to_first_step(overrides: list[str], scratch: Path) -> float:
    """Seconds from spawning ``train.py`` to its first training batch.

    The run is stopped once the stamp is written: what follows is not startup.
    """
    stamp = scratch / "first_step"
    stamp.unlink(missing_ok=True)
    command = train_command(
        [
            *overrides,
            f"paths.log_dir={scratch / 'outputs'}",
            "+callbacks.first_step._target_=bench_startup.first_step_stamp",
            f"+callbacks.first_step.path={stamp}",
        ]
    )
    start = time.time()
    with subprocess.Popen(
        command,
        env=environment(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        while not stamp.exists() and process.poll() is None:
            time.sleep(POLL_SECONDS)
        if stamp.exists():
            process.terminate()
        _, stderr = process.communicate()
    if not stamp.exists():
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {stderr[-2000:]}")
    return float(stamp.read_text()) - start


def time_to_rejection(overrides: list[str]) -> float:
    """Seconds until ``train.py`` exits non-zero on an unknown option."""
    command = train_command([*overrides, BAD_OVERRIDE])
    start = time.perf_counter()
    done = subprocess.run(command, env=environment(), capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        raise RuntimeError(f"{' '.join(command)} was accepted")
    return seconds


def time_import(module: str) -> float:
    """Seconds for a fresh interpreter to import ``module``: the reference the issue quotes."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=environment())
    return time.perf_counter() - start


def summary(runs: list[float], target: float | None = None) -> dict[str, Any]:
    median = statistics.median(runs)
    result: dict[str, Any] = {"median": median, "min": min(runs), "max": max(runs), "runs": runs}
    if target is not None:
        result.update(target=target, met=median <= target)
    return result


def parse_args(argv: list[str]) -> tuple[int, Path, list[str]]:
    own, overrides = split_options(argv, OPTIONS, __doc__ or "")
    return int(own["runs"]), Path(str(own["output"])), overrides


def main(argv: list[str]) -> dict[str, Any]:
    runs, output, overrides = parse_args(argv)
    first, rejected, lightning = [], [], []
    with tempfile.TemporaryDirectory(prefix="trainlab-startup-") as scratch:
        for _ in range(runs):  # interleaved, so a busy neighbour slows all three alike
            first.append(time_to_first_step(overrides, Path(scratch)))
            rejected.append(time_to_rejection(overrides))
            lightning.append(time_import("lightning.pytorch"))
    result = {
        "benchmark": "python train.py: seconds to the first training step and to a rejected override",
        "command": " ".join(["python", "scripts/bench_startup.py", *argv]),
        "overrides": overrides,
        "first_step_s": summary(first, TARGETS["first_step_s"]),
        "bad_override_s": summary(rejected, TARGETS["bad_override_s"]),
        "import_lightning_s": summary(lightning),
    }
    print_table(result)
    write_result(output, result)
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"python train.py {' '.join(result['overrides'])}".rstrip())
    for column in ("measure", "median s", "min-max s", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    labels = {
        "first_step_s": "process start -> first training step",
        "bad_override_s": f"{BAD_OVERRIDE} rejected",
        "import_lightning_s": "python -c 'import lightning.pytorch' (reference)",
    }
    for key, label in labels.items():
        row = result[key]
        met = {True: "yes", False: "NO"}.get(row.get("met"), "-")
        target = f"<= {row['target']}" if "target" in row else ""
        table.add_row(label, f"{row['median']:.2f}", f"{row['min']:.2f}-{row['max']:.2f}", target, met)
    Console().print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
