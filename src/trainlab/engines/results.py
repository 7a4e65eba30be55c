"""What every run leaves when training starts and ends, on either engine.

``run.json`` (status, why it stopped, the best epoch), the baseline's scores beside the
network's, ``metrics.json``, ``history.csv``, the figures, the HPARAMS session and TEXT
entries, the predictions a lesson asks for, and the three lines the terminal shows. An engine hands
over its trained model as a ``Forward``: raw inputs in, raw outputs (logits or
values) out, in evaluation mode.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from trainlab.baselines import baseline_metrics
from trainlab.console import FILE_ONLY, quiet
from trainlab.data.base import TensorDataModule
from trainlab.engines.runtime import EpochHistory, config_choices
from trainlab.errors import RunInterrupted
from trainlab.record import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    PRUNED,
    STOPPED_EARLY,
    RunRecord,
    read_record,
)
from trainlab.run import HISTORY_FILE, format_metrics, to_floats, write_metrics
from trainlab.tensorboard import config_text, hparams_of, open_summaries, summary_text, write_session

if TYPE_CHECKING:
    import torch

    from trainlab.figures import TestOutputs

    Forward = Callable[[torch.Tensor], torch.Tensor]

log = logging.getLogger("trainlab")
#: The final lines of a run, for its log file (the terminal gets them printed).
summary_log = logging.getLogger(FILE_ONLY)
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


def start_run(cfg: DictConfig, writer: Any | None, continued: bool) -> RunRecord:
    """``run.json`` (running) and, for a new run, the TEXT entry: its command and config."""
    record = RunRecord.of(cfg)
    if continued:  # the first start's time and command stay
        earlier = read_record(cfg.paths.output_dir) or {}
        record = replace(record, **{k: earlier[k] for k in ("started", "command") if k in earlier})
    record.write(cfg.paths.output_dir)
    if writer is not None and not continued:
        writer.add_text("run/config", config_text(record.command, cfg), 0)
    return record


def best_epoch(cfg: DictConfig, history: EpochHistory) -> int | None:
    """The epoch (from 1) whose weights the best checkpoint holds: the first best value of
    the checkpoint's monitor, as the checkpoint callbacks (strict improvement) choose it;
    the last epoch when the checkpoint monitors nothing.
    """
    if _keeps_last_epoch(cfg):
        return len(history.epochs) or None
    node = cfg.callbacks.model_checkpoint
    monitor, mode = str(node.monitor), str(node.get("mode", "min"))
    values = [
        (int(row["epoch"]) + 1, row[monitor])
        for row in history.epochs
        if monitor in row and not math.isnan(row[monitor])
    ]
    if not values:
        return None
    target = (min if mode == "min" else max)(value for _, value in values)
    return next(epoch for epoch, value in values if value == target)


def _ending(cfg: DictConfig, epochs: int, stopped_early: bool) -> tuple[str, str]:
    """The status and the reason of a fit that returned."""
    stopping = (cfg.get("callbacks") or {}).get("early_stopping")
    if stopped_early and stopping is not None:
        min_delta = float(stopping.get("min_delta") or 0.0)
        by = f" by min_delta={min_delta:g}" if min_delta else ""
        reason = (
            f"early stopping at epoch {epochs}: {stopping.monitor} did not improve{by} "
            f"for {stopping.patience} epochs"
        )
        return STOPPED_EARLY, reason
    max_epochs = cfg.trainer.get("max_epochs")
    if max_epochs is not None and epochs >= int(max_epochs):
        return FINISHED, f"max_epochs={max_epochs} reached"
    return FINISHED, f"training ended after {epochs} epochs"


def _failure(error: BaseException, epochs: int) -> tuple[str, str]:
    """The status and the reason of a fit that raised ``error``."""
    if isinstance(error, RunInterrupted):
        return INTERRUPTED, f"{error} in epoch {epochs + 1}"
    if isinstance(error, KeyboardInterrupt):  # a second Ctrl-C: aborted at once
        return INTERRUPTED, f"aborted by a second Ctrl-C in epoch {epochs + 1}"
    if type(error).__name__ == "TrialPruned":  # optuna's, without importing optuna
        return PRUNED, f"pruned by the sweep after epoch {epochs}"
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return FAILED, first


def _end(
    cfg: DictConfig,
    record: RunRecord,
    metrics: dict[str, float],
    history: EpochHistory,
    status: str,
    reason: str,
) -> int | None:
    """``metrics.json``, ``run.json`` and the HPARAMS session of a run that ended."""
    run_dir = Path(cfg.paths.output_dir)
    epochs = len(history.epochs)
    best = best_epoch(cfg, history) if status in (FINISHED, STOPPED_EARLY) else None
    write_metrics(run_dir, metrics)
    record = record.ended_as(status, epochs, best, reason)
    record.write(run_dir)
    if cfg.get("logger") and (cfg.logger or {}).get("tensorboard") is not None:
        params = hparams_of(cfg, config_choices(), status)
        started = datetime.fromisoformat(record.started).timestamp()
        text = summary_text(status, reason, best, metrics)
        write_session(
            run_dir, _trial_id(cfg, run_dir), params, metrics, status, best or epochs, text, started
        )
    return best


def _trial_id(cfg: DictConfig, run_dir: Path) -> str:
    """The session's name in HPARAMS: ``<study>/<trial number>`` for a sweep's trial."""
    trial = cfg.get("trial")
    if trial is not None and trial.get("number") is not None:
        return f"{trial.get('study_name')}/{trial.number}"
    return run_dir.name


def finish_run(
    cfg: DictConfig,
    record: RunRecord,
    datamodule: TensorDataModule,
    metrics: dict[str, Any],
    history: EpochHistory,
    forward: Forward,
    stopped_early: bool,
    writer: Any | None = None,
) -> dict[str, float]:
    """Baseline, ``history.csv``, figures (unless ``figures=false``), predictions, then
    ``metrics.json``, ``run.json``, HPARAMS and the summary, for the best model ``forward``.
    """
    splits = datamodule.loaded_splits()
    metrics = {**metrics, **baseline_metrics(cfg.get("baseline"), splits, datamodule.spec)}
    history.write_csv(Path(cfg.paths.output_dir) / HISTORY_FILE)
    if cfg.get("figures", True):
        started = time.perf_counter()
        from trainlab.figures import draw_run_figures
        from trainlab.figures.run import FIGURES_DIR

        summaries = open_summaries(writer) if writer is not None else None
        paths = draw_run_figures(
            Path(cfg.paths.output_dir) / FIGURES_DIR,
            datamodule.spec,
            history.epochs,
            test_outputs(forward, datamodule),
            summaries,
            len(history.epochs),
        )
        if summaries is not None:
            summaries.close()
        log.info("drew %d figures in %.2f s", len(paths), time.perf_counter() - started)
    print_predictions(cfg, forward, datamodule)
    floats = to_floats(metrics)
    status, reason = _ending(cfg, len(history.epochs), stopped_early)
    best = _end(cfg, record, floats, history, status, reason)
    _print_summary(cfg, reason, best, floats)
    return floats


def _keeps_last_epoch(cfg: DictConfig) -> bool:
    """Whether the metrics are the final model's: the checkpoint monitors nothing, or there is
    no best checkpoint (``~callbacks.model_checkpoint``).
    """
    node = (cfg.get("callbacks") or {}).get("model_checkpoint")
    return node is None or node.get("monitor") is None


def finish_stopped(
    cfg: DictConfig, record: RunRecord, history: EpochHistory, error: BaseException
) -> None:
    """What a run that ``error`` stopped leaves (interrupted, pruned, a non-finite loss, a
    crash): ``history.csv``, the last validation's metrics, ``run.json``, HPARAMS; an
    interrupted run also says how to continue it.
    """
    run_dir = Path(cfg.paths.output_dir)
    status, reason = _failure(error, len(history.epochs))
    last_validation = {k: v for k, v in history.last().items() if k.startswith("val/")}
    try:
        history.write_csv(run_dir / HISTORY_FILE)
        _end(cfg, record, last_validation, history, status, reason)
    except Exception as failure:  # the error that stopped the run is the one to report
        log.warning("could not record how the run ended: %s", failure)
        return
    if status == INTERRUPTED:
        print(f"run directory: {run_dir}\ncontinue it with: python train.py resume={run_dir}")


def _print_summary(cfg: DictConfig, reason: str, best: int | None, metrics: dict[str, float]) -> None:
    """The run's story in three lines: why it stopped and which epoch's checkpoint the
    metrics come from, the metrics, where the run is.
    """
    if best is None:
        source = ""
    elif _keeps_last_epoch(cfg):
        source = f"; the metrics are the final model's (epoch {best})"
    else:
        source = f"; best epoch {best} (its checkpoint gave the metrics)"
    lines = [
        reason + source,
        f"metrics: {format_metrics(metrics)}",
        f"run directory: {cfg.paths.output_dir}",
    ]
    for line in lines:
        summary_log.info("%s", line)
    if not quiet():
        print("\n".join(lines))
    elif cfg.get("trial") is None:  # a plain multirun's job: one line (Optuna's sweeper has its own)
        print(f"{Path(cfg.paths.output_dir).name}: {format_metrics(metrics)}  ({reason})")


def report(cfg: DictConfig, metrics: dict[str, Any]) -> dict[str, float]:
    """``eval.py``: write ``metrics.json`` into the run directory and print the metrics."""
    floats = to_floats(metrics)
    path = write_metrics(cfg.paths.output_dir, floats)
    summary_log.info("metrics: %s", format_metrics(floats))
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
