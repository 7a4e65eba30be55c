"""Recompute a run's test metrics: ``python eval.py ckpt_path=<run>/checkpoints/best.ckpt``."""

from trainlab.cli import evaluate

if __name__ == "__main__":
    evaluate()
