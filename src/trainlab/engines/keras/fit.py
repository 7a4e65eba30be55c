"""``model.fit`` on the DataModule's splits, with the run's callbacks, logs and checkpoints.

The run directory ends up as a Lightning run's: ``.hydra/``, TensorBoard events under
the same tags, ``checkpoints/best.keras`` (and ``last.keras``), ``metrics.json``. The
final val/test metrics are computed on the best checkpoint, reloaded from disk the
way ``eval.py`` reloads it, so the two agree exactly.
"""

from __future__ import annotations

import contextlib
import logging
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from trainlab.console import keras_verbose, quiet
from trainlab.data.base import BatchLoader, DataSpec
from trainlab.engines import Metrics
from trainlab.engines.interrupts import StopSignals
from trainlab.engines.keras.adapters import (
    LoaderBatches,
    SetEpoch,
    loss_and_metrics,
    metric_names,
    target_fn,
)
from trainlab.engines.keras.callbacks import (
    EpochHooks,
    LoggerMetrics,
    StopOnNonFiniteLoss,
    TensorBoardScalars,
    TorchLRSchedule,
)
from trainlab.engines.keras.checkpoints import (
    BestCheckpoint,
    LastCheckpoint,
    RestoreState,
    StopOnSignal,
    resume_state,
)
from trainlab.engines.keras.config import (
    CHECKPOINT_SUFFIX,
    BatchLimit,
    FitSettings,
    keras_key,
    stage_tags,
)
from trainlab.engines.keras.optimizers import build_optimizer
from trainlab.engines.results import finish_run, finish_stopped, report, start_run
from trainlab.engines.runtime import EpochHistory, build_datamodule, epoch_end_hook, prepare_process
from trainlab.errors import CheckpointError
from trainlab.keras_backend import keras
from trainlab.models.summary import keras_layers, write_summary
from trainlab.run import resume_checkpoint

log = logging.getLogger("trainlab")


def compile_model(model: Any, spec: DataSpec, optimizer: Any = "sgd") -> Any:
    loss, metrics = loss_and_metrics(spec)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def load_checkpoint(path: str | Path, spec: DataSpec) -> Any:
    """A ``.keras`` file as a model compiled for ``spec``'s task; one-line errors."""
    try:
        model = keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable Keras model: {first}") from None
    expected_in, expected_out = (None, *spec.input_shape), spec.num_outputs
    if tuple(model.input_shape) != expected_in or model.output_shape[-1] != expected_out:
        raise CheckpointError(
            f"{path} does not fit this run's data: the model maps {model.input_shape} -> "
            f"{model.output_shape}, the data needs {expected_in} -> {expected_out} outputs"
        )
    return compile_model(model, spec)


def keras_batches(loader: BatchLoader, spec: DataSpec, limit: BatchLimit = None) -> LoaderBatches:
    """A DataModule loader as Keras batches (targets in the task's Keras form)."""
    if isinstance(limit, float):
        limit = max(1, int(loader.batches() * limit))
    return LoaderBatches(loader, target_fn(spec), limit)


@contextlib.contextmanager
def on_device(name: str | None) -> Iterator[None]:
    if name is None:
        yield
        return
    with keras.device(name):
        yield


def _checkpoints(cfg: DictConfig, settings: FitSettings) -> tuple[BestCheckpoint | None, Path | None]:
    """``callbacks.model_checkpoint`` as the best checkpoint; also ``last.keras``'s path
    (written when ``save_last`` is on or ``callbacks.mid_epoch_checkpoint`` is configured).
    """
    callbacks = cfg.get("callbacks") or {}
    node = callbacks.get("model_checkpoint")
    if node is None or settings.dry_run:
        return None, None
    directory = Path(str(node.dirpath))
    best = directory / f"{node.get('filename') or 'best'}{CHECKPOINT_SUFFIX}"
    option = "callbacks.model_checkpoint.monitor"
    monitor = keras_key(str(node.monitor), option) if node.get("monitor") else None
    wanted = node.get("save_last") or callbacks.get("mid_epoch_checkpoint") is not None
    last = directory / f"last{CHECKPOINT_SUFFIX}" if wanted else None
    return BestCheckpoint(best, monitor, str(node.get("mode", "min"))), last


def _last_every(cfg: DictConfig) -> dict[str, Any]:
    """How often ``last.keras`` is written: ``callbacks.mid_epoch_checkpoint``'s settings,
    unless ``model_checkpoint.save_last`` asks for every epoch.
    """
    callbacks = cfg.get("callbacks") or {}
    node = callbacks.get("mid_epoch_checkpoint")
    if node is None or (callbacks.get("model_checkpoint") or {}).get("save_last"):
        return {}
    return {"every_n_steps": node.get("every_n_steps"), "every_seconds": node.get("every_seconds")}


def _early_stopping(cfg: DictConfig) -> Any | None:
    node = (cfg.get("callbacks") or {}).get("early_stopping")
    if node is None:
        return None
    return keras.callbacks.EarlyStopping(
        monitor=keras_key(str(node.monitor)),
        mode=str(node.get("mode", "min")),
        patience=int(node.get("patience", 3)),
        min_delta=float(node.get("min_delta", 0.0)),
        restore_best_weights=True,
        verbose=0,  # the run's summary says when it stopped and which epoch was best
    )


def _log_dir(node: DictConfig) -> Path:
    return Path(str(node.save_dir), str(node.get("name") or ""), str(node.get("version") or ""))


def _loggers(
    cfg: DictConfig, names: list[str], settings: FitSettings, purge_step: int | None
) -> tuple[list[Any], Any]:
    """The configured loggers as callbacks; also the ``SummaryWriter`` (or None)."""
    if settings.dry_run:
        return [], None
    callbacks: list[Any] = []
    writer = None
    for node in (cfg.get("logger") or {}).values():
        if node is None:
            continue
        if str(node._target_).endswith("TensorBoardLogger"):
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=str(_log_dir(node)), purge_step=purge_step)
            callbacks.append(TensorBoardScalars(writer, names, float(node.get("flush_seconds", 2))))
        else:
            callbacks.append(LoggerMetrics(instantiate(node), names))
    return callbacks, writer


@dataclass
class Resumed:
    """A continued run: its model (with optimizer state) and the state of its last epoch."""

    model: Any
    state: dict[str, Any]

    @property
    def next_epoch(self) -> int:
        return int(self.state["epoch"]) + 1


def build_callbacks(
    cfg: DictConfig,
    spec: DataSpec,
    settings: FitSettings,
    train: LoaderBatches,
    history: EpochHistory,
    resumed: Resumed | None = None,
) -> tuple[list[Any], Path | None, Any]:
    """The run's Keras callbacks, the best checkpoint's path, and the SummaryWriter."""
    names = metric_names(spec)
    best, last_path = _checkpoints(cfg, settings)
    # A continued run's curves drop what was logged after its checkpoint (steps are epochs).
    purge = resumed.next_epoch + 1 if resumed else None
    loggers, writer = _loggers(cfg, names, settings, purge)
    start = resumed.next_epoch if resumed else 0
    schedule = (
        [TorchLRSchedule(instantiate(cfg.scheduler), float(cfg.optimizer.lr), start)]
        if cfg.get("scheduler")
        else []
    )
    stopping = _early_stopping(cfg)
    scalars = next((c.scalars for c in loggers if isinstance(c, TensorBoardScalars)), None)
    every = {**_last_every(cfg), "before_save": scalars.write_all if scalars else None}
    last = LastCheckpoint(last_path, history, best, stopping, **every) if last_path else None
    callbacks = [
        SetEpoch(train),
        *schedule,
        StopOnNonFiniteLoss(best.path.parent if best else None),  # before any checkpoint is written
        *loggers,  # before the hooks: an epoch a sweep's pruner stops after is still logged
        EpochHooks(epoch_end_hook(cfg, history), names),
        *([best] if best else []),
        *([stopping] if stopping else []),
        *([last] if last else []),
    ]
    if resumed is not None and last is not None:
        best_weights = _best_weights(best.path) if best and best.path.is_file() else None
        callbacks.append(RestoreState(resumed.state, last, best_weights))
    return callbacks, best.path if best else None, writer


def _best_weights(path: Path) -> Any:
    return keras.saving.load_model(path, compile=False).get_weights()


def _evaluate(model: Any, batches: LoaderBatches, stage: str) -> dict[str, float]:
    return stage_tags(stage, model.evaluate(batches, return_dict=True, verbose=0))


def _forward(model: Any) -> Any:
    """The trained model as the engine-neutral forward function (inference mode)."""
    return lambda x: model(x, training=False)


def fit(cfg: DictConfig, extra_callbacks: Sequence[Any] = ()) -> Metrics:
    """Train, reload the best checkpoint, report val/test metrics; as the Lightning engine."""
    prepare_process()
    settings = FitSettings.from_trainer(cfg.trainer)
    keras.utils.set_random_seed(int(cfg.seed))
    datamodule = build_datamodule(cfg)
    spec = datamodule.spec
    with on_device(settings.device), StopSignals() as signals:
        train = keras_batches(datamodule.train_dataloader(), spec, settings.train_limit)
        val = keras_batches(datamodule.val_dataloader(), spec, settings.val_limit)
        resume_from = resume_checkpoint(cfg, CHECKPOINT_SUFFIX)
        resumed = Resumed(*resume_state(resume_from, len(train))) if resume_from else None
        model = resumed.model if resumed else _new_model(cfg, spec)
        if (cfg.get("callbacks") or {}).get("model_summary") is not None and not quiet():
            model.summary(print_fn=lambda line, **_: log.info("%s", line))
        write_summary(keras_layers(model), cfg.paths.output_dir)
        history = EpochHistory()
        callbacks, best, writer = build_callbacks(cfg, spec, settings, train, history, resumed)
        record = start_run(cfg, writer, continued=resumed is not None)
        try:
            model.fit(
                train,
                validation_data=val,
                epochs=settings.epochs,
                initial_epoch=resumed.next_epoch if resumed else 0,
                shuffle=False,
                callbacks=[*callbacks, StopOnSignal(signals), *extra_callbacks],
                verbose=keras_verbose(),  # one line per epoch; none in a sweep's job
            )
            if best is not None and best.is_file():
                model = load_checkpoint(best, spec)
            test = keras_batches(datamodule.test_dataloader(), spec, settings.test_limit)
            metrics = {**_evaluate(model, val, "val"), **_evaluate(model, test, "test")}
            stopped_early = any(
                isinstance(cb, keras.callbacks.EarlyStopping) and cb.stopped_epoch > 0
                for cb in callbacks
            )
            metrics = finish_run(
                cfg, record, datamodule, metrics, history, _forward(model), stopped_early, writer
            )
        except BaseException as error:  # interrupted, pruned, NaN, a failure after training
            finish_stopped(cfg, record, history, error)
            raise
        finally:
            if writer is not None:
                writer.close()
    return metrics


def _new_model(cfg: DictConfig, spec: DataSpec) -> Any:
    return compile_model(instantiate(cfg.model).build_keras(spec), spec, build_optimizer(cfg.optimizer))


def evaluate(cfg: DictConfig, ckpt_path: str) -> Metrics:
    """Recompute a run's test metrics from its ``.keras`` checkpoint."""
    settings = FitSettings.from_trainer(cfg.trainer)
    datamodule = build_datamodule(cfg)
    with on_device(settings.device):
        model = load_checkpoint(ckpt_path, datamodule.spec)
        test = keras_batches(datamodule.test_dataloader(), datamodule.spec, None)
        return report(cfg, _evaluate(model, test, "test"))
