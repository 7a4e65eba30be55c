"""Keras' own ``fit`` loop with none of the Keras engine's callbacks: the engine's base row.

Built with the engine's own builders (model, optimizer translation, compile) and fed the
engine's own batches (the DataModule's loaders through ``keras_batches``, tensors already
in the task's Keras form, not NumPy arrays), so the difference from the engine row is the
engine's callbacks and logging, not the data path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.engine_epoch import ENGINE_EPOCHS
from benchmarks.keras_timer import InlineBatchEndTimer
from trainlab.data.base import TensorDataModule
from trainlab.engines.keras.fit import compile_model, keras_batches
from trainlab.engines.keras.optimizers import build_optimizer
from trainlab.keras_backend import keras


def keras_bare_fit(
    cfg: DictConfig, datamodule: TensorDataModule, epochs: int, callbacks: Sequence[Any]
) -> None:
    """A bare ``model.fit`` of a fresh model for ``epochs``, one line an epoch as the engine's.

    Give it an ``InlineBatchEndTimer`` (or another callback with a batch-end hook) to be
    comparable with the engine, whose checkpoint callback has one.
    """
    spec = datamodule.spec
    keras.utils.set_random_seed(int(cfg.seed))
    network = instantiate(cfg.model).build_keras(spec)
    model = compile_model(network, spec, build_optimizer(cfg.optimizer))
    model.fit(
        keras_batches(datamodule.train_dataloader(), spec),
        validation_data=keras_batches(datamodule.val_dataloader(), spec),
        epochs=epochs,
        shuffle=False,
        callbacks=list(callbacks),
        verbose=2,
    )


def keras_bare_epoch(cfg: DictConfig, datamodule: TensorDataModule) -> float:
    """Seconds of the last epoch of a bare ``model.fit`` of ``ENGINE_EPOCHS`` epochs."""
    timer = InlineBatchEndTimer()
    keras_bare_fit(cfg, datamodule, ENGINE_EPOCHS, [timer])
    return timer.clock.seconds[-1]
