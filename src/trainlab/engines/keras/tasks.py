"""What each task means in Keras: the same loss and metrics as ``trainlab.tasks``.

Models output logits on both engines, so the losses take ``from_logits=True``; the
metrics accumulate over the whole split (as torchmetrics do), and the binary task
with two outputs trains on one-hot targets, as the lesson's ``Dense(2, sigmoid)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from trainlab.data.base import DataSpec
from trainlab.engines.keras.backend import keras

TargetFn = Callable[[torch.Tensor], torch.Tensor]


def loss_and_metrics(spec: DataSpec) -> tuple[Any, list[Any]]:
    """The Keras loss and metrics whose values equal the Lightning engine's."""
    losses, metrics = keras.losses, keras.metrics
    if spec.task == "multiclass":
        return losses.SparseCategoricalCrossentropy(from_logits=True), [
            metrics.SparseCategoricalAccuracy(name="acc")
        ]
    if spec.task == "binary":
        accuracy = (
            metrics.BinaryAccuracy(name="acc", threshold=0.0)  # logit > 0 <=> probability > 0.5
            if spec.num_outputs == 1
            else metrics.CategoricalAccuracy(name="acc")
        )
        return losses.BinaryCrossentropy(from_logits=True), [accuracy]
    return losses.MeanSquaredError(), [
        metrics.MeanAbsoluteError(name="mae"),
        metrics.RootMeanSquaredError(name="rmse"),
    ]


def target_fn(spec: DataSpec) -> TargetFn:
    """How the DataModule's ``y`` becomes what the Keras loss expects."""
    if spec.task == "binary" and spec.num_outputs == 1:
        return lambda y: y.float().unsqueeze(1)
    if spec.task == "binary":
        return lambda y: F.one_hot(y, 2).float()
    return lambda y: y


def metric_names(spec: DataSpec) -> list[str]:
    return ["loss", *(metric.name for metric in loss_and_metrics(spec)[1])]
