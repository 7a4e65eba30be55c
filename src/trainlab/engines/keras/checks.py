"""Everything ``engine=keras`` cannot build, found before Keras is imported or data loaded.

One line naming the option, within the first second or two of the run, instead of
an error from inside Keras after the data has loaded.
"""

from __future__ import annotations

from omegaconf import DictConfig

from trainlab.engines.keras.naming import keras_key
from trainlab.engines.keras.optimizers import translate
from trainlab.engines.keras.settings import FitSettings
from trainlab.errors import ConfigError
from trainlab.models.activations import ACTIVATIONS

SUPPORTED_LOGGERS = ("TensorBoardLogger", "CSVLogger")
UNSUPPORTED_SCHEDULERS = ("ReduceLROnPlateau",)  # steps on a metric, not per epoch


def _check_model(model: DictConfig) -> None:
    activation = model.get("activation")
    if activation in ACTIVATIONS and ACTIVATIONS[activation][1] is None:
        usable = [name for name, (_, keras_name) in ACTIVATIONS.items() if keras_name]
        raise ConfigError(
            f"model.activation={activation!r} has no Keras counterpart (engine=keras); "
            f"use one of {', '.join(usable)}"
        )


def _check_monitors(callbacks: DictConfig | None) -> None:
    for name in ("early_stopping", "model_checkpoint"):
        node = (callbacks or {}).get(name)
        if node is not None and node.get("monitor"):
            keras_key(str(node.monitor), f"callbacks.{name}.monitor")


def _check_scheduler(scheduler: DictConfig | None) -> None:
    target = str((scheduler or {}).get("_target_", ""))
    if target.rsplit(".", 1)[-1] in UNSUPPORTED_SCHEDULERS:
        raise ConfigError(f"scheduler._target_={target} is not supported with engine=keras")


def _check_loggers(loggers: DictConfig | None) -> None:
    for name, node in (loggers or {}).items():
        target = str((node or {}).get("_target_", ""))
        if node is not None and target.rsplit(".", 1)[-1] not in SUPPORTED_LOGGERS:
            raise ConfigError(
                f"logger.{name} ({target}) is not supported with engine=keras; "
                f"supported: {', '.join(SUPPORTED_LOGGERS)}"
            )


def check_keras_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for the first option that has no Keras counterpart."""
    _check_model(cfg.model)
    translate(cfg.optimizer)
    FitSettings.from_trainer(cfg.trainer)
    _check_scheduler(cfg.get("scheduler"))
    _check_monitors(cfg.get("callbacks"))
    _check_loggers(cfg.get("logger"))
