"""Keras' own ``fit`` loop with none of the Keras engine's callbacks: the engine's base row.

Built with the engine's own builders (model, optimizer translation, compile, batches),
so the difference from the engine row is the engine's callbacks and logging.
"""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.engine_epoch import ENGINE_EPOCHS
from benchmarks.keras_timer import InlineBatchEndTimer
from trainlab.data.base import TensorDataModule
from trainlab.engines.keras.fit import compile_model, keras_batches
from trainlab.engines.keras.optimizers import build_optimizer
from trainlab.keras_backend import keras


def keras_bare_epoch(cfg: DictConfig, datamodule: TensorDataModule) -> float:
    """Seconds of the last epoch of a bare ``model.fit`` of ``ENGINE_EPOCHS`` epochs."""
    spec = datamodule.spec
    keras.utils.set_random_seed(int(cfg.seed))
    network = instantiate(cfg.model).build_keras(spec)
    model = compile_model(network, spec, build_optimizer(cfg.optimizer))
    timer = InlineBatchEndTimer()
    model.fit(
        keras_batches(datamodule.train_dataloader(), spec),
        validation_data=keras_batches(datamodule.val_dataloader(), spec),
        epochs=ENGINE_EPOCHS,
        shuffle=False,
        callbacks=[timer],
        verbose=2,
    )
    return timer.clock.seconds[-1]
