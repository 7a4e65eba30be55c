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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from trainlab.data.base import BatchLoader, DataSpec, TensorDataModule
from trainlab.engines.common import (
    EpochHistory,
    build_datamodule,
    call_all,
    epoch_end_hooks,
    finish_run,
    freeze_startup_objects,
    predictions_for,
    report,
    route_library_logs,
    run_hparams,
)
from trainlab.engines.keras.backend import keras
from trainlab.engines.keras.callbacks import (
    EpochHooks,
    LoggerMetrics,
    StopOnNonFiniteLoss,
    TensorBoardScalars,
    TorchLRSchedule,
)
from trainlab.engines.keras.data import LoaderBatches, SetEpoch
from trainlab.engines.keras.naming import keras_key, stage_tags
from trainlab.engines.keras.optimizers import build_optimizer
from trainlab.engines.keras.settings import BatchLimit, FitSettings
from trainlab.engines.keras.tasks import loss_and_metrics, metric_names, target_fn
from trainlab.errors import CheckpointError
from trainlab.figures import TestOutputs
from trainlab.models.summary import keras_layers, write_summary
from trainlab.run import write_hparams
from trainlab.tasks import make_task

log = logging.getLogger("trainlab")
CHECKPOINT_SUFFIX = ".keras"


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
        limit = max(1, int(len(loader) * limit))
    return LoaderBatches(loader, target_fn(spec), limit)


@contextlib.contextmanager
def on_device(name: str | None) -> Iterator[None]:
    if name is None:
        yield
        return
    with keras.device(name):
        yield


def _checkpoints(cfg: DictConfig, settings: FitSettings) -> tuple[list[Any], Path | None]:
    """``callbacks.model_checkpoint`` as Keras ``ModelCheckpoint``s: best (and last)."""
    node = (cfg.get("callbacks") or {}).get("model_checkpoint")
    if node is None or settings.dry_run:
        return [], None
    directory = Path(str(node.dirpath))
    best = directory / f"{node.get('filename') or 'best'}{CHECKPOINT_SUFFIX}"
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            best,
            monitor=keras_key(str(node.monitor), "callbacks.model_checkpoint.monitor"),
            mode=str(node.get("mode", "min")),
            save_best_only=True,
        )
    ]
    if node.get("save_last"):
        callbacks.append(keras.callbacks.ModelCheckpoint(directory / f"last{CHECKPOINT_SUFFIX}"))
    return callbacks, best


def _early_stopping(cfg: DictConfig) -> list[Any]:
    node = (cfg.get("callbacks") or {}).get("early_stopping")
    if node is None:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor=keras_key(str(node.monitor)),
            mode=str(node.get("mode", "min")),
            patience=int(node.get("patience", 3)),
            min_delta=float(node.get("min_delta", 0.0)),
            restore_best_weights=True,
            verbose=1,
        )
    ]


def _log_dir(node: DictConfig) -> Path:
    return Path(str(node.save_dir), str(node.get("name") or ""), str(node.get("version") or ""))


def _loggers(cfg: DictConfig, names: list[str], settings: FitSettings) -> tuple[list[Any], Any]:
    """The configured loggers as callbacks; also the ``SummaryWriter`` (or None)."""
    if settings.dry_run:
        return [], None
    callbacks: list[Any] = []
    writer = None
    log_lr = (cfg.get("callbacks") or {}).get("learning_rate_monitor") is not None
    for node in (cfg.get("logger") or {}).values():
        if node is None:
            continue
        if str(node._target_).endswith("TensorBoardLogger"):
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=str(_log_dir(node)))
            callbacks.append(TensorBoardScalars(writer, names, log_lr))
        else:
            callbacks.append(LoggerMetrics(instantiate(node), names))
    return callbacks, writer


def build_callbacks(
    cfg: DictConfig,
    spec: DataSpec,
    settings: FitSettings,
    train: LoaderBatches,
    history: EpochHistory | None = None,
) -> tuple[list[Any], Path | None, Any]:
    """The run's Keras callbacks, the best checkpoint's path, and the SummaryWriter."""
    names = metric_names(spec)
    checkpoints, best = _checkpoints(cfg, settings)
    loggers, writer = _loggers(cfg, names, settings)
    schedule = [TorchLRSchedule(instantiate(cfg.scheduler))] if cfg.get("scheduler") else []
    callbacks = [
        SetEpoch(train),
        *schedule,
        StopOnNonFiniteLoss(best.parent if best else None),  # before any checkpoint is written
        EpochHooks(call_all([history or EpochHistory(), *epoch_end_hooks(cfg)]), names),
        *checkpoints,
        *_early_stopping(cfg),
        *loggers,
    ]
    return callbacks, best, writer


def _evaluate(model: Any, batches: LoaderBatches, stage: str) -> dict[str, float]:
    return stage_tags(stage, model.evaluate(batches, return_dict=True, verbose=0))


def _test_outputs(model: Any, datamodule: TensorDataModule) -> TestOutputs:
    """The (best) model's raw outputs on the whole test split, for the figures."""
    assert datamodule.splits is not None
    x, y = datamodule.splits.test
    outputs = [model(chunk, training=False).detach() for chunk in x.split(8192)]
    return TestOutputs(x, y, keras.ops.concatenate(outputs).cpu())


def _print_predictions(cfg: DictConfig, model: Any, datamodule: TensorDataModule) -> None:
    inputs = predictions_for(cfg)
    if inputs is None:
        return
    outputs = model(datamodule.preprocess(inputs), training=False)
    values = make_task(datamodule.spec).predict(outputs.detach().cpu())
    for row, value in zip(inputs, values.tolist(), strict=True):
        print(f"prediction for {row}: {value}")
    log.info("predictions: %s -> %s", inputs, values.tolist())


def fit(cfg: DictConfig) -> dict[str, float]:
    """Train, reload the best checkpoint, report val/test metrics; as the Lightning engine."""
    route_library_logs()
    freeze_startup_objects()
    settings = FitSettings.from_trainer(cfg.trainer)
    keras.utils.set_random_seed(int(cfg.seed))
    datamodule = build_datamodule(cfg)
    spec = datamodule.spec
    with on_device(settings.device):
        model = compile_model(
            instantiate(cfg.model).build_keras(spec), spec, build_optimizer(cfg.optimizer)
        )
        if (cfg.get("callbacks") or {}).get("model_summary") is not None:
            model.summary(print_fn=lambda line, **_: log.info("%s", line))
        write_summary(keras_layers(model), cfg.paths.output_dir)
        train = keras_batches(datamodule.train_dataloader(), spec, settings.train_limit)
        val = keras_batches(datamodule.val_dataloader(), spec, settings.val_limit)
        history = EpochHistory()
        callbacks, best, writer = build_callbacks(cfg, spec, settings, train, history)
        try:
            model.fit(
                train,
                validation_data=val,
                epochs=settings.epochs,
                shuffle=False,
                callbacks=callbacks,
                verbose=2,
            )
        except BaseException:  # pruned, NaN, interrupted: the run still shows in HPARAMS
            if writer is not None:
                write_hparams(writer, run_hparams(cfg), history.last())
                writer.close()
            raise
        step = int(model.optimizer.iterations)  # before the reload resets the optimizer
        if best is not None and best.is_file():
            model = load_checkpoint(best, spec)
        test = keras_batches(datamodule.test_dataloader(), spec, settings.test_limit)
        metrics = {**_evaluate(model, val, "val"), **_evaluate(model, test, "test")}
        if writer is not None:
            for tag, value in metrics.items():
                writer.add_scalar(tag, value, step)
        metrics = finish_run(
            cfg, datamodule, metrics, history, lambda: _test_outputs(model, datamodule), writer, step
        )
        _print_predictions(cfg, model, datamodule)
    if writer is not None:
        write_hparams(writer, run_hparams(cfg), metrics)
        writer.close()
    return metrics


def evaluate(cfg: DictConfig, ckpt_path: str) -> dict[str, float]:
    """Recompute a run's test metrics from its ``.keras`` checkpoint."""
    settings = FitSettings.from_trainer(cfg.trainer)
    datamodule = build_datamodule(cfg)
    with on_device(settings.device):
        model = load_checkpoint(ckpt_path, datamodule.spec)
        test = keras_batches(datamodule.test_dataloader(), datamodule.spec, None)
        return report(cfg, _evaluate(model, test, "test"))
