"""The Keras engine: ``engine=keras`` trains the same configs with Keras 3's ``model.fit``.

Keras runs on its torch backend (set before Keras is imported) over the same
DataModules, batch order and metric names as the Lightning engine. Options Keras
cannot build are refused before Keras is imported or any data is loaded.
"""

from __future__ import annotations

from omegaconf import DictConfig

from trainlab.engines.keras.checks import check_keras_config
from trainlab.errors import CheckpointError


class KerasEngine:
    """``fit`` trains, then validates and tests the best checkpoint; ``evaluate`` re-tests."""

    def fit(self, cfg: DictConfig) -> dict[str, float]:
        check_keras_config(cfg)
        from trainlab.engines.keras.training import fit

        return fit(cfg)

    def evaluate(self, cfg: DictConfig, ckpt_path: str) -> dict[str, float]:
        from trainlab.engines.keras.training import CHECKPOINT_SUFFIX, evaluate

        if not str(ckpt_path).endswith(CHECKPOINT_SUFFIX):
            raise CheckpointError(f"{ckpt_path} is not a Keras checkpoint ({CHECKPOINT_SUFFIX})")
        return evaluate(cfg, ckpt_path)
