"""The pictures the lessons draw, for every run: in TensorBoard and as PNG files."""

from trainlab.figures.run import TestOutputs, draw_run_figures

__all__ = ["TestOutputs", "draw_run_figures"]
