"""What the figures cost: a 10-epoch digits run with ``figures=true`` against ``figures=false``.

    python -m benchmarks.figures                     # 5 runs each, writes bench/figures.json
    python -m benchmarks.figures runs=1 output=/tmp/figures.json trainer.max_epochs=2

Options: ``runs``, ``output``; other ``key=value`` arguments are passed to ``train.py``.
Each run is a fresh process, timed from spawn to exit; the two settings alternate, so a
busy neighbour slows both alike. The drawing time is also read from the run's own log
line ("drew N figures in X s"), which excludes process noise; the target is that cost
under 5% of the run.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import command_line, split_options, summary, write_result
from benchmarks.processes import failure, run_timed, train_command

OPTIONS = {"runs": 5, "output": "bench/figures.json"}
DEFAULT_OVERRIDES = ["data=digits", "trainer.max_epochs=10"]
TARGET_FRACTION = 0.05
DREW = re.compile(r"drew (\d+) figures in ([0-9.]+) s")


def timed_run(overrides: Sequence[str], run_dir: Path) -> tuple[float, float | None]:
    """Wall seconds of one ``train.py`` process, and the drawing seconds it logged."""
    command = train_command([*overrides, f"hydra.run.dir={run_dir}"])
    seconds, done = run_timed(command)
    if done.returncode != 0:
        raise failure(command, done)
    drew = DREW.search(done.stdout)
    return seconds, float(drew.group(2)) if drew else None


def main(argv: Sequence[str]) -> dict[str, Any]:
    own, extra = split_options(argv, OPTIONS, __doc__ or "")
    runs, output = int(own["runs"]), Path(str(own["output"]))
    overrides = [*DEFAULT_OVERRIDES, *extra]
    with_figures, without, drawing = [], [], []
    with tempfile.TemporaryDirectory(prefix="trainlab-figures-") as scratch:
        for i in range(runs):
            seconds, drew = timed_run([*overrides, "figures=true"], Path(scratch) / f"on{i}")
            with_figures.append(seconds)
            drawing.append(drew if drew is not None else float("nan"))
            without.append(timed_run([*overrides, "figures=false"], Path(scratch) / f"off{i}")[0])
    run_s = statistics.median(with_figures)
    draw_s = statistics.median(drawing)
    result: dict[str, Any] = {
        "benchmark": "figures=true vs figures=false, whole train.py processes",
        "command": command_line("benchmarks.figures", argv),
        "overrides": overrides,
        "run_with_figures_s": summary(with_figures),
        "run_without_figures_s": summary(without),
        "drawing_s": summary(drawing),
        "drawing_fraction": draw_s / run_s,
        # Each figures=true run against the figures=false run right after it: pairs share
        # the machine's load of the moment, so their difference is steadier than medians.
        "paired_difference_fraction": statistics.median(
            (on - off) / off for on, off in zip(with_figures, without, strict=True)
        ),
        "target_fraction": TARGET_FRACTION,
        "met": draw_s / run_s < TARGET_FRACTION,
    }
    print(
        f"train.py {' '.join(overrides)}: {run_s:.2f} s with figures, "
        f"{statistics.median(without):.2f} s without (medians of {runs}); drawing {draw_s:.2f} s = "
        f"{100 * result['drawing_fraction']:.1f}% of the run (target < {100 * TARGET_FRACTION:.0f}%); "
        f"median paired wall difference {100 * result['paired_difference_fraction']:+.1f}%"
    )
    write_result(output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
