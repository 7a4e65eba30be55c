"""What every run leaves when training ends, on either engine.

The baseline's scores beside the network's, ``metrics.json``, ``history.csv``, the
figures, the HPARAMS entry and the predictions a lesson asks for. An engine hands
over its trained model as a ``Forward``: raw inputs in, raw outputs (logits or
values) out, in evaluation mode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from trainlab.baselines import PREFIX as BASELINE_PREFIX
from trainlab.baselines import baseline_metrics
from trainlab.data.base import TensorDataModule
from trainlab.engines.runtime import EpochHistory, config_choices
from trainlab.run import HISTORY_FILE, format_metrics, to_floats, write_metrics
from trainlab.tensorboard import hparams_of, open_summaries, write_hparams

if TYPE_CHECKING:
    import torch

    from trainlab.figures import TestOutputs

    Forward = Callable[[torch.Tensor], torch.Tensor]

log = logging.getLogger("trainlab")
INTERRUPTED = "interrupted"
CHUNK = 8192  # test samples per forward pass for the figures


def test_outputs(forward: Forward, datamodule: TensorDataModule) -> TestOutputs:
    """The model's raw outputs on the whole test split, for the figures."""
    import torch

    from trainlab.figures import TestOutputs

    splits = datamodule.loaded_splits()
    x, y = splits.test
    with torch.no_grad():
        outputs = torch.cat([forward(x[i : i + CHUNK]).detach().cpu() for i in range(0, len(x), CHUNK)])
    return TestOutputs(x, y, outputs)


def finish_run(
    cfg: DictConfig,
    datamodule: TensorDataModule,
    metrics: dict[str, Any],
    history: EpochHistory,
    forward: Forward,
    writer: Any | None = None,
    step: int = 0,
) -> dict[str, float]:
    """Baseline, ``history.csv``, figures (unless ``figures=false``), predictions, HPARAMS
    and ``metrics.json``, for the trained (best) model ``forward``.
    """
    splits = datamodule.loaded_splits()
    metrics = {**metrics, **baseline_metrics(cfg.get("baseline"), splits, datamodule.spec)}
    if writer is not None:
        for name, value in metrics.items():
            if name.startswith(BASELINE_PREFIX):
                writer.add_scalar(name, value, step)
    history.write_csv(Path(cfg.paths.output_dir) / HISTORY_FILE)
    summaries = open_summaries(writer) if writer is not None else None
    if cfg.get("figures", True):
        started = time.perf_counter()
        from trainlab.figures import draw_run_figures
        from trainlab.figures.run import FIGURES_DIR

        paths = draw_run_figures(
            Path(cfg.paths.output_dir) / FIGURES_DIR,
            datamodule.spec,
            history.epochs,
            test_outputs(forward, datamodule),
            summaries,
            step,
        )
        log.info("drew %d figures in %.2f s", len(paths), time.perf_counter() - started)
    print_predictions(cfg, forward, datamodule)
    floats = report(cfg, metrics)
    if summaries is not None:
        write_hparams(summaries, hparams_of(cfg, config_choices()), floats)
        summaries.close()
    return floats


def finish_interrupted(cfg: DictConfig, history: EpochHistory, writer: Any | None) -> None:
    """What a run stopped by a signal leaves: ``history.csv``, ``metrics.json`` with
    ``"status": "interrupted"`` and the last epoch's metrics, HPARAMS, the resume command.
    """
    run_dir = Path(cfg.paths.output_dir)
    history.write_csv(run_dir / HISTORY_FILE)
    last = history.last()
    write_metrics(run_dir, {"status": INTERRUPTED, "epochs": len(history.epochs), **last})
    if writer is not None:
        record_hparams(cfg, writer, last)
        writer.flush()
    print(f"run directory: {run_dir}\ncontinue it with: python train.py resume={run_dir}")


def record_hparams(cfg: DictConfig, writer: Any, metrics: dict[str, float]) -> None:
    """The HPARAMS entry of a run that an error stopped (pruned, NaN, interrupted)."""
    summaries = open_summaries(writer)
    write_hparams(summaries, hparams_of(cfg, config_choices()), metrics)
    summaries.close()


def report(cfg: DictConfig, metrics: dict[str, Any]) -> dict[str, float]:
    """Write ``metrics.json`` into the run directory and print the final metrics."""
    floats = to_floats(metrics)
    path = write_metrics(cfg.paths.output_dir, floats)
    log.info("%s", format_metrics(floats))
    print(f"metrics: {format_metrics(floats)}\nrun directory: {Path(path).parent}")
    return floats


def print_predictions(cfg: DictConfig, forward: Forward, datamodule: TensorDataModule) -> None:
    """The predictions a lesson asks for (``predict: [[5], [-9]]``), printed and logged."""
    import torch

    from trainlab.tasks import make_task

    raw = cfg.get("predict")
    if not raw:
        return
    rows = OmegaConf.to_container(raw, resolve=True) if OmegaConf.is_config(raw) else raw
    assert isinstance(rows, list)
    inputs = [[float(v) for v in (row if isinstance(row, list) else [row])] for row in rows]
    with torch.no_grad():
        outputs = forward(datamodule.preprocess(inputs)).detach().cpu()
    values = make_task(datamodule.spec).predict(outputs).tolist()
    for row, value in zip(inputs, values, strict=True):
        print(f"prediction for {row}: {value}")
    log.info("predictions: %s -> %s", inputs, values)
