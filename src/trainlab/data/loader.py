"""Batches cut from in-memory tensors by indexing: the epoch's order, DDP shards, resume.

A per-sample ``Dataset.__getitem__`` plus collation costs more than the arithmetic of
a small MLP; indexing a tensor with a batch of indices costs one gather.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

__all__ = ["Batch", "BatchLoader", "EpochOrder", "StepGroup"]

Batch = tuple[torch.Tensor, torch.Tensor]


class EpochOrder:
    """The sample order of one epoch: a permutation seeded by (seed, epoch).

    Lightning calls ``set_epoch`` at each epoch start (it looks for a ``sampler``
    attribute), so a resumed run replays the exact order; without that call the
    epoch advances after each full pass.
    """

    def __init__(self, size: int, shuffle: bool, seed: int) -> None:
        self.size, self.shuffle, self.seed, self.epoch = size, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> torch.Tensor | None:
        """The permutation for this epoch, or None for the natural order."""
        if not self.shuffle:
            return None
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.size, generator=generator)


class StepGroup:
    """Several consecutive training batches handed to one ``training_step``.

    Each batch is cut only when the step reaches it, so the group costs nothing up front.
    It is not a tuple or list: Lightning passes it through untouched, without walking it
    to move or measure tensors that already sit on the device.
    """

    def __init__(self, loader: BatchLoader, order: torch.Tensor | None, first: int, count: int) -> None:
        self.loader, self.order, self.first, self.count = loader, order, first, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Batch]:
        for index in range(self.first, self.first + self.count):
            yield self.loader.batch(index, self.order)


class BatchLoader:
    """Iterates ``(x[idx], y[idx])`` batches of in-memory tensors; shards by rank for DDP.

    ``steps_per_call > 1`` yields ``StepGroup``s of that many batches instead (the last
    one of an epoch may be shorter): the training loop then pays its per-call cost once
    per group. ``pad`` (training) wraps the order around so every rank gets as many
    batches, as ``DistributedSampler`` does; evaluation shards without padding, so
    validation and test metrics count every sample exactly once.

    ``steps_taken`` (training under Lightning: ``trainer.global_step``) counts the
    optimizer steps taken so far. The module takes one per batch, so the steps since
    the epoch's first batch say where the epoch stands, down to the batch inside a
    group, for the mid-epoch checkpoint Lightning saves through ``state_dict``.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        steps_taken: Callable[[], int] | None = None,
        steps_per_call: int = 1,
        pad: bool = True,
    ) -> None:
        self.x, self.y = x, y
        self.steps_taken = steps_taken
        self._resume_at: tuple[int, int] | None = None  # (epoch, batch) after a restart
        self._epoch_began: tuple[int, int] | None = None  # (epoch, steps before its batch 0)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.rank, self.world_size, self.pad = rank, world_size, pad
        self.steps_per_call = steps_per_call
        self.sampler = EpochOrder(len(x), shuffle, seed)
        self.batch_sampler = None  # Lightning inspects DataLoader-like attributes

    def _shard_size(self) -> int:
        if self.pad:
            return math.ceil(len(self.x) / self.world_size)
        return len(range(self.rank, len(self.x), self.world_size))

    def batches(self) -> int:
        """Mini-batches (optimizer steps, when training) per epoch on this rank."""
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(self._shard_size() / self.batch_size)

    def __len__(self) -> int:
        """Items per epoch: batches, or step groups with ``steps_per_call > 1``."""
        return math.ceil(self.batches() / self.steps_per_call)

    def epoch_order(self) -> torch.Tensor | None:
        """This rank's sample order for the current epoch (None: the natural order)."""
        order = self.sampler.indices()
        if self.world_size > 1:
            if order is None:
                order = torch.arange(len(self.x))
            if self.pad:  # wrap around so that every rank gets as many samples
                order = torch.cat([order, order[: self._shard_size() * self.world_size - len(order)]])
            order = order[self.rank :: self.world_size]
        return order if order is None else order.to(self.x.device)

    def batch(self, index: int, order: torch.Tensor | None) -> Batch:
        """Batch ``index`` of an epoch in ``order``: a view when unshuffled, else one gather."""
        start = index * self.batch_size
        stop = min(start + self.batch_size, len(self.x) if order is None else len(order))
        if order is None:
            return self.x[start:stop], self.y[start:stop]
        rows = order[start:stop]
        return self.x[rows], self.y[rows]

    def state_dict(self) -> dict[str, int]:
        """Where the current epoch stands, in batches, for a mid-epoch checkpoint."""
        epoch = self.sampler.epoch
        if self._resume_at is not None:  # restored, not yet continued: the same place
            return {"epoch": self._resume_at[0], "position": self._resume_at[1]}
        began = self._epoch_began
        if self.steps_taken is None or began is None or began[0] != epoch:
            return {"epoch": epoch, "position": 0}  # this epoch has served nothing yet
        return {"epoch": epoch, "position": self.steps_taken() - began[1]}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue the saved epoch at its next batch (the same order: it is seeded per epoch)."""
        self._resume_at = (int(state["epoch"]), int(state["position"]))

    def __iter__(self) -> Iterator[Batch | StepGroup]:
        order = self.epoch_order()
        start = 0
        if self._resume_at is not None and self._resume_at[0] == self.sampler.epoch:
            start = self._resume_at[1]
        self._resume_at = None
        if self.steps_taken is not None:
            self._epoch_began = (self.sampler.epoch, self.steps_taken() - start)
        total, step = self.batches(), self.steps_per_call
        for index in range(start, total, step):
            if step == 1:
                yield self.batch(index, order)
            else:
                yield StepGroup(self, order, index, min(step, total - index))
        if self.sampler.shuffle:
            self.sampler.epoch += 1
