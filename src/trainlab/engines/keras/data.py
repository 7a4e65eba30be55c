"""The DataModule's batches as a ``keras.utils.PyDataset``.

It indexes the same tensors in the same per-epoch order as the ``BatchLoader`` the
Lightning engine iterates (``sampler.set_epoch(epoch)``, then its permutation), so
both engines see identical batches; the parity test depends on it. Keras does not
tell a ``PyDataset`` which epoch it is in (and reads a batch ahead of the first
epoch to build its iterator), so the ``SetEpoch`` callback passes the epoch in, as
Lightning passes it to the sampler.
"""

from __future__ import annotations

from typing import Any

import torch

from trainlab.data.base import Batch, BatchLoader
from trainlab.engines.keras.backend import keras
from trainlab.engines.keras.tasks import TargetFn


class LoaderBatches(keras.utils.PyDataset):
    """Batch ``i`` of the current epoch, by index; ``limit`` caps the batches per epoch."""

    def __init__(self, loader: BatchLoader, targets: TargetFn, limit: int | None = None) -> None:
        super().__init__()
        if loader.world_size != 1:
            raise ValueError("engine=keras trains on one device")
        self.loader, self.targets, self.limit = loader, targets, limit
        self._epoch_order: tuple[int, torch.Tensor | None] | None = None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> torch.Tensor | None:
        if self._epoch_order is None or self._epoch_order[0] != self.epoch:
            self.loader.sampler.set_epoch(self.epoch)
            self._epoch_order = (self.epoch, self.loader.epoch_order())
        return self._epoch_order[1]

    def __len__(self) -> int:
        batches = len(self.loader)
        return batches if self.limit is None else min(batches, self.limit)

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
