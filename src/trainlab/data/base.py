"""The base DataModule: whole splits as tensors, batches cut by indexing.

A per-sample ``Dataset.__getitem__`` plus collation costs more than the arithmetic of
a small MLP; indexing a tensor with a batch of indices costs one gather. The spec
(input shape, outputs, task) is read off the loaded data, so models never hand-sync
sizes with datasets.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import lightning.pytorch as pl
import numpy as np
import torch
from numpy.typing import ArrayLike

from trainlab.data.layouts import SPLITS, TaskKind
from trainlab.errors import DataError

__all__ = [
    "FULL_BATCH",
    "Batch",
    "BatchLoader",
    "DataSpec",
    "Splits",
    "StepGroup",
    "TaskKind",
    "TensorDataModule",
]

Batch = tuple[torch.Tensor, torch.Tensor]
#: ``batch_size: full``: one step per epoch on the whole training split (full-batch descent).
FULL_BATCH = "full"


@dataclass(frozen=True)
class DataSpec:
    """What a model must know about its data: built from the data, never typed twice."""

    input_shape: tuple[int, ...]
    num_outputs: int
    task: TaskKind
    image_shape: tuple[int, ...] | None = None  # how to draw a sample, for figures


@dataclass
class Splits:
    """Train/val/test tensors; ``y`` is int64 class labels or float32 targets (N, k)."""

    train: Batch
    val: Batch
    test: Batch

    def to(self, device: torch.device) -> Splits:
        def move(pair: Batch) -> Batch:
            x, y = pair
            return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

        return Splits(move(self.train), move(self.val), move(self.test))


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
        progress: Callable[[], int] | None = None,
        steps_per_call: int = 1,
        pad: bool = True,
    ) -> None:
        self.x, self.y = x, y
        self.progress = progress
        self._resume_at: tuple[int, int] | None = None  # (epoch, batch) after a restart
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
        """Where the current epoch stands, for a mid-epoch checkpoint (Lightning saves it).

        ``progress`` tells how many items the training loop has processed: the loop
        fetches one ahead, so the items served here would overcount. The position is
        kept in batches, whatever ``steps_per_call``.
        """
        position = self.progress() * self.steps_per_call if self.progress is not None else 0
        return {"epoch": self.sampler.epoch, "position": position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue the saved epoch at its next batch (the same order: it is seeded per epoch)."""
        self._resume_at = (int(state["epoch"]), int(state["position"]))

    def __iter__(self) -> Iterator[Batch | StepGroup]:
        order = self.epoch_order()
        start = 0
        if self._resume_at is not None and self._resume_at[0] == self.sampler.epoch:
            start = self._resume_at[1]
        self._resume_at = None
        total, step = self.batches(), self.steps_per_call
        for index in range(start, total, step):
            if step == 1:
                yield self.batch(index, order)
            else:
                yield StepGroup(self, order, index, min(step, total - index))
        if self.sampler.shuffle:
            self.sampler.epoch += 1


class TensorDataModule(pl.LightningDataModule):
    """Loads every split once into memory and serves it through ``BatchLoader``.

    Subclasses implement ``load``; everything else (batching, DDP sharding, moving the
    data onto the GPU once when training there) is shared. ``split_options`` names the
    option that sizes each split, for the error a split that comes out empty gives (the
    pre-flight checks catch it earlier where the dataset's size is known).

    ``batch_size="full"`` makes every training batch the whole training split, known
    once the data is loaded: ``batch_size`` holds that number after ``setup``.
    """

    split_options: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        batch_size: int | str = 64,
        eval_batch_size: int | None = None,
        shuffle_seed: int = 0,
        device_resident: bool = True,
    ) -> None:
        super().__init__()
        self.full_batch = batch_size == FULL_BATCH
        self._eval_batch_size = eval_batch_size
        self.batch_size = 1 if self.full_batch else int(batch_size)
        self.eval_batch_size = eval_batch_size or max(self.batch_size, 1024)
        self.shuffle_seed = shuffle_seed
        self.device_resident = device_resident
        # Training batches per ``training_step``; the Lightning engine sets it
        # (``engine.steps_per_call``) once it knows the model and the data.
        self.steps_per_call = 1
        self.splits: Splits | None = None
        self._spec: DataSpec | None = None

    @abstractmethod
    def load(self) -> tuple[Splits, DataSpec]:
        """Read (or download) the data, split it, fit any scaling on the train split."""

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        """Raw inputs -> model inputs, with the scaling fitted on the train split."""
        return torch.as_tensor(np.asarray(inputs, dtype=np.float32))

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            splits, spec = self.load()
            self._refuse_empty(splits)
            self.splits, self._spec = splits, spec
            if self.full_batch:
                self.batch_size = len(splits.train[0])
                self.eval_batch_size = self._eval_batch_size or max(self.batch_size, 1024)

    def _refuse_empty(self, splits: Splits) -> None:
        """An empty split trains nothing or validates nothing: one line naming its option."""
        for name in SPLITS:
            if len(getattr(splits, name)[0]) == 0:
                option = self.split_options.get(name)
                hint = f"; change {option}" if option else ""
                raise DataError(f"the {name} split of {type(self).__name__} is empty{hint}")

    def loaded_splits(self) -> Splits:
        """The splits, loaded on first use."""
        self.setup()
        assert self.splits is not None
        return self.splits

    @property
    def spec(self) -> DataSpec:
        if self._spec is None:
            self.setup()
        assert self._spec is not None
        return self._spec

    def _device_splits(self) -> Splits:
        assert self.splits is not None, "setup() first"
        trainer = self.trainer
        if self.device_resident and trainer is not None:
            device = trainer.strategy.root_device
            if device.type != "cpu" and self.splits.train[0].device != device:
                self.splits = self.splits.to(device)
        return self.splits

    def _loader(self, pair: Batch, batch_size: int, train: bool) -> BatchLoader:
        """Training: shuffled unless full-batch, padded across ranks, ``steps_per_call``
        batches per item. Evaluation: natural order, every sample on exactly one rank.
        """
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        # One batch of every sample is the same batch in any order: no shuffling to pay for.
        shuffle = train and not self.full_batch
        return BatchLoader(
            *pair,
            batch_size,
            shuffle=shuffle,
            seed=self.shuffle_seed,
            rank=rank,
            world_size=world,
            progress=self._training_progress if shuffle and trainer else None,
            steps_per_call=self.steps_per_call if train else 1,
            pad=train,
        )

    def train_batches(self, world_size: int = 1) -> int:
        """Optimizer steps per epoch on each of ``world_size`` ranks (after ``setup``)."""
        return BatchLoader(*self.loaded_splits().train, self.batch_size, world_size=world_size).batches()

    def _training_progress(self) -> int:
        """Items the training loop has processed in this epoch (its own public counter)."""
        assert self.trainer is not None
        progress: Any = self.trainer.fit_loop.epoch_loop.batch_progress.current
        return int(progress.processed)

    def train_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().train, self.batch_size, train=True)

    def val_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().val, self.eval_batch_size, train=False)

    def test_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().test, self.eval_batch_size, train=False)
