"""trainlab's speed benchmarks, run as modules from the repository root.

    python -m benchmarks.epoch            # seconds per epoch: the engines beside a raw loop
    python -m benchmarks.step_overhead    # where a step's time goes besides the arithmetic
    python -m benchmarks.startup          # python train.py: to the first step, to a rejection
    python -m benchmarks.figures          # what figures=true costs a run
    python -m benchmarks.sweep_overhead   # a sweep's per-trial overhead, from its trials.csv

Each takes its own ``key=value`` options (``-h`` lists them) and passes the other
arguments to trainlab as overrides; the timing ones write JSON under ``bench/``. The
engine rows train through ``trainlab.train`` and time epochs with a callback, so they
measure what a run does, not a copy of it. Kept empty: ``startup`` has ``train.py``
import ``benchmarks.stamp``, and importing the package must cost that run nothing.
"""
