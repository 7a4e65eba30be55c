"""The chosen engine's own refusals that need no library, run by the pre-flight.

``engine=keras`` refuses what Keras' ``fit`` cannot honour (DDP, several devices,
mixed precision, an activation Keras lacks ...). The Trainer and activation refusals
live in modules that import neither Keras nor torch, so the pre-flight runs them and
they come, like every config error, before Hydra creates the run directory. The rest
of ``check_keras_config`` (the optimizer translation imports torch to read the
optimizer's signature) still runs in the engine, before any data is loaded.
"""

from __future__ import annotations

from omegaconf import DictConfig

from trainlab.config.values import value_at

KERAS_ENGINE = "trainlab.engines.keras.KerasEngine"


def check_engine_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for a Trainer option or activation the engine cannot build."""
    if value_at(cfg, "engine._target_") != KERAS_ENGINE:
        return
    from trainlab.engines.keras.config import FitSettings
    from trainlab.models.activations import keras_activation

    trainer = cfg.get("trainer")
    if isinstance(trainer, DictConfig):
        FitSettings.from_trainer(trainer)
    activation = value_at(cfg, "model.activation")
    if isinstance(activation, str):
        keras_activation(activation)
