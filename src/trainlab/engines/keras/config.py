"""trainlab's config read for Keras' ``fit``, without importing Keras.

Everything ``engine=keras`` cannot build is refused here by name, before Keras is
imported or any data is loaded: one line naming the option instead of an error from
inside Keras. The Trainer options that change what is trained either map onto
``fit`` (epochs, batch limits, fast_dev_run, the device) or have no Keras counterpart,
so ``trainer=ddp engine=keras`` fails instead of training on one device as if nothing
were asked. Both engines log, monitor and report under the Lightning engine's tags
(``val/loss``); ``keras_key`` and ``tags`` translate to and from Keras' log keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from trainlab.engines.keras.optimizers import translate
from trainlab.errors import ConfigError
from trainlab.models.activations import keras_activation

VAL_PREFIX = "val_"
CHECKPOINT_SUFFIX = ".keras"  # the format keras.saving writes and reads


def keras_key(tag: str, option: str = "callbacks.early_stopping.monitor") -> str:
    """``val/loss`` -> ``val_loss``; ``train/acc`` -> ``acc`` (what Keras' callbacks monitor)."""
    stage, _, name = tag.partition("/")
    if stage == "train" and name:
        return name
    if stage == "val" and name:
        return VAL_PREFIX + name
    raise ConfigError(f"{option}={tag!r} cannot be monitored while training: use val/<metric>")


def tags(logs: Mapping[str, Any], names: Iterable[str]) -> dict[str, float]:
    """The epoch's ``logs`` under trainlab's tags, for the metric ``names`` the model compiled."""
    tagged: dict[str, float] = {}
    for name in names:
        if name in logs:
            tagged[f"train/{name}"] = float(logs[name])
        if VAL_PREFIX + name in logs:
            tagged[f"val/{name}"] = float(logs[VAL_PREFIX + name])
    return tagged


def stage_tags(stage: str, results: Mapping[str, Any]) -> dict[str, float]:
    """``model.evaluate(..., return_dict=True)`` results as ``val/...`` or ``test/...``."""
    return {f"{stage}/{name}": float(value) for name, value in results.items()}


BatchLimit = int | float | None
FULL_PRECISION = {"32-true", "32", 32, None}
DEVICES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "auto": None}


def _limit(value: object) -> BatchLimit:
    """Lightning's meaning: an int is a batch count, a float a fraction of the batches."""
    if isinstance(value, float) and value < 1.0:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    train_limit: BatchLimit = None
    val_limit: BatchLimit = None
    test_limit: BatchLimit = None
    dry_run: bool = False  # fast_dev_run: no checkpoints, no logs
    device: str | None = None  # keras.device scope; None: Keras' choice (GPU if present)

    @classmethod
    def from_trainer(cls, trainer: DictConfig) -> FitSettings:
        refuse(trainer)
        device = DEVICES.get(str(trainer.get("accelerator", "auto")))
        fast_dev_run = trainer.get("fast_dev_run", False)
        if fast_dev_run:
            batches = 1 if fast_dev_run is True else int(fast_dev_run)
            return cls(1, batches, batches, batches, dry_run=True, device=device)
        return cls(
            epochs=int(trainer.max_epochs),
            train_limit=_limit(trainer.get("limit_train_batches")),
            val_limit=_limit(trainer.get("limit_val_batches")),
            test_limit=_limit(trainer.get("limit_test_batches")),
            device=device,
        )


def refuse(trainer: DictConfig) -> None:
    """Raise ``ConfigError`` naming a Trainer option that Keras' ``fit`` cannot honour."""
    unsupported: dict[str, Callable[[Any], bool]] = {
        "strategy": lambda v: v not in (None, "auto"),
        "devices": lambda v: v not in (None, 1, "1", "auto"),
        "num_nodes": lambda v: v not in (None, 1),
        "overfit_batches": lambda v: bool(v),
        "gradient_clip_val": lambda v: bool(v),
        "precision": lambda v: v not in FULL_PRECISION,
        "compile": lambda v: bool(v),
        "float32_matmul_precision": lambda v: v not in (None, "highest"),
    }
    for key, is_set in unsupported.items():
        value = trainer.get(key)
        if is_set(value):
            raise ConfigError(f"trainer.{key}={value!r} is not supported with engine=keras")
    accelerator = str(trainer.get("accelerator", "auto"))
    if accelerator not in DEVICES:
        raise ConfigError(
            f"trainer.accelerator={accelerator} is not supported with engine=keras "
            f"(use one of {', '.join(DEVICES)})"
        )


SUPPORTED_LOGGERS = ("EpochTensorBoardLogger", "TensorBoardLogger", "CSVLogger")
UNSUPPORTED_SCHEDULERS = ("ReduceLROnPlateau",)  # steps on a metric, not per epoch


def _check_model(model: DictConfig) -> None:
    for key in ("activation", "output_activation"):
        if model.get(key) is not None:
            keras_activation(model[key], f"model.{key}")


def _check_monitors(callbacks: DictConfig | None) -> None:
    for name in ("early_stopping", "model_checkpoint"):
        node = callbacks.get(name) if callbacks is not None else None
        if node is not None and node.get("monitor"):
            keras_key(str(node.monitor), f"callbacks.{name}.monitor")


def _check_scheduler(scheduler: DictConfig | None) -> None:
    target = str(scheduler.get("_target_", "")) if scheduler is not None else ""
    if target.rsplit(".", 1)[-1] in UNSUPPORTED_SCHEDULERS:
        raise ConfigError(f"scheduler._target_={target} is not supported with engine=keras")


def _check_loggers(loggers: DictConfig | None) -> None:
    for name, node in loggers.items() if loggers is not None else []:
        target = str(node.get("_target_", "")) if node is not None else ""
        if node is not None and target.rsplit(".", 1)[-1] not in SUPPORTED_LOGGERS:
            raise ConfigError(
                f"logger.{name!s} ({target}) is not supported with engine=keras; "
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
