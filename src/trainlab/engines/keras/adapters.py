"""trainlab's data and tasks as Keras objects: batches as a ``PyDataset``, losses, metrics.

The batches index the same tensors in the same per-epoch order as the ``BatchLoader``
the Lightning engine iterates (``sampler.set_epoch(epoch)``, then its permutation), so
both engines see identical batches; the parity test depends on it. Keras does not tell
a ``PyDataset`` which epoch it is in (and reads a batch ahead of the first epoch to
build its iterator), so the ``SetEpoch`` callback passes the epoch in, as Lightning
passes it to the sampler.

Models output logits on both engines, so the losses take ``from_logits=True``; the
metrics accumulate over the whole split (as torchmetrics do), and the binary task with
two outputs trains on one-hot targets, as the lesson's ``Dense(2, sigmoid)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from trainlab.data.base import Batch, BatchLoader, DataSpec
from trainlab.keras_backend import keras

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


class LoaderBatches(keras.utils.PyDataset):
    """Batch ``i`` of the current epoch, by index; ``limit`` caps the batches per epoch."""

    def __init__(self, loader: BatchLoader, targets: TargetFn, limit: int | None = None) -> None:
        super().__init__()
        if loader.world_size != 1:
            raise ValueError("engine=keras trains on one device")
        self.loader, self.targets, self.limit = loader, targets, limit
        self._epoch_order: tuple[int, torch.Tensor | None] | None = None
        self.epoch = 0
        batches = loader.batches()  # Keras asks several times an epoch: counted once
        self._length = batches if limit is None else min(batches, limit)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> torch.Tensor | None:
        if self._epoch_order is None or self._epoch_order[0] != self.epoch:
            self.loader.sampler.set_epoch(self.epoch)
            self._epoch_order = (self.epoch, self.loader.epoch_order())
        return self._epoch_order[1]

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Batch:
        x, y = self.loader.batch(index, self._order())
        return x, self.targets(y)


class SetEpoch(keras.callbacks.Callback):
    """Tells the training batches which epoch starts (their shuffling order depends on it)."""

    def __init__(self, batches: LoaderBatches) -> None:
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.batches.set_epoch(epoch)
