"""The Trainer config (``trainer/*.yaml``) read as settings for Keras' ``fit``.

The Lightning Trainer options that change what is trained either map onto ``fit``
(epochs, batch limits, fast_dev_run, the device) or have no Keras counterpart and
are refused by name, so ``trainer=ddp engine=keras`` fails instead of training on one
device as if nothing were asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from trainlab.errors import ConfigError

BatchLimit = int | float | None
FULL_PRECISION = {"32-true", "32", 32, None}
DEVICES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "auto": None}


def _limit(value: object) -> BatchLimit:
    """Lightning's meaning: an int is a batch count, a float a fraction of the batches."""
    if value is None or (isinstance(value, float) and value >= 1.0):
        return None
    return value  # type: ignore[return-value]


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
    unsupported = {
        "strategy": lambda v: v not in (None, "auto"),
        "devices": lambda v: v not in (None, 1, "1", "auto"),
        "num_nodes": lambda v: v not in (None, 1),
        "overfit_batches": lambda v: bool(v),
        "gradient_clip_val": lambda v: bool(v),
        "precision": lambda v: v not in FULL_PRECISION,
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
