"""A sweep's per-trial overhead, from its ``trials.csv``: what a trial costs beyond its epochs.

    python -m benchmarks.sweep_overhead outputs/sweeps/digits_optuna/trials.csv [width_key=model.hidden]

Fits ``duration = overhead + a * epochs * width + b * epochs`` by least squares over the
trials (an epoch's cost grows with the swept width); prints the overhead in seconds.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import split_options

OPTIONS = {"width_key": "model.hidden"}


def overhead(path: Path, width_key: str = "model.hidden") -> tuple[float, int]:
    """Seconds per trial beyond its epochs, and how many finished trials the fit used."""
    with path.open() as stream:
        rows = [r for r in csv.DictReader(stream) if r["epochs"] and r["duration_s"]]
    epochs = np.array([float(r["epochs"]) for r in rows])
    width = np.array([float(r.get(width_key) or 1) for r in rows])
    duration = np.array([float(r["duration_s"]) for r in rows])
    design = np.column_stack([np.ones_like(epochs), epochs * width / width.max(), epochs])
    coefficients = np.linalg.lstsq(design, duration, rcond=None)[0]
    return float(coefficients[0]), len(rows)


def main(argv: Sequence[str]) -> tuple[float, int]:
    own, paths = split_options(argv, OPTIONS, __doc__ or "")
    if len(paths) != 1:
        sys.exit((__doc__ or "").strip())
    seconds, trials = overhead(Path(paths[0]), str(own["width_key"]))
    print(f"{paths[0]}: {seconds:.2f} s per trial beyond its epochs ({trials} trials)")
    return seconds, trials


if __name__ == "__main__":
    main(sys.argv[1:])
