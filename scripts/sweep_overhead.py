"""A sweep's per-trial overhead, from its ``trials.csv``: what a trial costs beyond its epochs.

    python scripts/sweep_overhead.py outputs/sweeps/digits_optuna/trials.csv [width_key=model.hidden]

Fits ``duration = overhead + a * epochs * width + b * epochs`` by least squares over the
trials (an epoch's cost grows with the swept width); prints the overhead in seconds.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np


def overhead(path: Path, width_key: str = "model.hidden") -> tuple[float, int]:
    with path.open() as stream:
        rows = [r for r in csv.DictReader(stream) if r["epochs"] and r["duration_s"]]
    epochs = np.array([float(r["epochs"]) for r in rows])
    width = np.array([float(r.get(width_key) or 1) for r in rows])
    duration = np.array([float(r["duration_s"]) for r in rows])
    design = np.column_stack([np.ones_like(epochs), epochs * width / width.max(), epochs])
    coefficients = np.linalg.lstsq(design, duration, rcond=None)[0]
    return float(coefficients[0]), len(rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    options = dict(arg.split("=", 1) for arg in sys.argv[2:])
    seconds, trials = overhead(Path(sys.argv[1]), options.get("width_key", "model.hidden"))
    print(f"{sys.argv[1]}: {seconds:.2f} s per trial beyond its epochs ({trials} trials)")
