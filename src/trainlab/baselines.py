"""scikit-learn baselines, trained on the run's own train split and scored like the network.

The estimator sees exactly the inputs the network sees (the DataModule's splits after
its scaling, flattened), and its predictions go through the task's torchmetrics, so
``baseline/test/acc`` and ``test/acc`` are the same measurement of two models.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from trainlab.data.base import Batch, DataSpec, Splits
from trainlab.errors import ConfigError
from trainlab.tasks import make_task

log = logging.getLogger("trainlab")
PREFIX = "baseline/"


def _features(pair: Batch) -> tuple[np.ndarray, np.ndarray]:
    x, y = (t.detach().cpu() for t in pair)
    targets = y.numpy()
    if targets.ndim == 2 and targets.shape[1] == 1:
        targets = targets[:, 0]
    return x.reshape(len(x), -1).float().numpy(), targets


def build_estimator(node: DictConfig, spec: DataSpec) -> Any:
    role = "regressor" if spec.task == "regression" else "classifier"
    if node.get(role) is None:
        raise ConfigError(f"baseline={node.get('name')} has no {role} for this {spec.task} data")
    return instantiate(node[role])


def score(estimator: Any, pair: Batch, spec: DataSpec, stage: str) -> dict[str, float]:
    """The task's metrics (``{stage}/acc`` ...) of the fitted estimator on one split."""
    x, _ = _features(pair)
    predicted = torch.from_numpy(np.asarray(estimator.predict(x)))
    target = pair[1].detach().cpu()
    if spec.task == "regression":
        predicted = predicted.float().reshape(target.shape)
    else:
        predicted = predicted.long()
    metrics = make_task(spec).metrics()
    return {f"{stage}/{name}": float(metric(predicted, target)) for name, metric in metrics.items()}


def baseline_metrics(node: DictConfig | None, splits: Splits, spec: DataSpec) -> dict[str, float]:
    """Fit the configured baseline on the train split; its val and test metrics, prefixed."""
    if not node:
        return {}
    estimator = build_estimator(node, spec)
    started = time.perf_counter()
    estimator.fit(*_features(splits.train))
    metrics = {
        **score(estimator, splits.val, spec, "val"),
        **score(estimator, splits.test, spec, "test"),
    }
    log.info(
        "baseline %s (%s) fitted in %.1f s",
        node.get("name"),
        type(estimator).__name__,
        time.perf_counter() - started,
    )
    return {PREFIX + name: value for name, value in metrics.items()}
