"""``engine=keras``: the same configs trained with Keras 3's ``model.fit`` on its torch backend.

The package is cut where Keras is first imported:

- ``config.py`` and ``optimizers.py`` read trainlab's config for Keras (fit settings,
  monitor names, the optimizer translation) and refuse what Keras cannot build, without
  importing Keras, before any data is loaded;
- ``adapters.py`` (data and tasks as Keras objects), ``callbacks.py`` (what a Lightning
  run has: TensorBoard scalars, epoch hooks, the NaN guard, LR schedules) and ``fit.py``
  (``model.fit``, checkpoints, evaluation) import Keras and run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from omegaconf import DictConfig

from trainlab.engines import Metrics
from trainlab.engines.keras.config import CHECKPOINT_SUFFIX, check_keras_config


class KerasEngine:
    """See ``trainlab.engines.Engine``."""

    checkpoint_suffix: ClassVar[str] = CHECKPOINT_SUFFIX

    def fit(self, cfg: DictConfig, callbacks: Sequence[Any] = ()) -> Metrics:
        check_keras_config(cfg)
        from trainlab.engines.keras.fit import fit

        return fit(cfg, callbacks)

    def evaluate(self, cfg: DictConfig, ckpt_path: str) -> Metrics:
        from trainlab.engines.keras.fit import evaluate

        return evaluate(cfg, ckpt_path)
