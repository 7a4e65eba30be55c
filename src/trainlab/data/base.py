"""The base DataModule: whole splits in memory as tensors, served by ``BatchLoader``.

The spec (input shape, outputs, task) of trainlab's own DataModules comes from their
declarations (``trainlab.data.layouts``), which the pre-flight reads too; a user's own
DataModule gives it with its loaded data.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import lightning.pytorch as pl
import numpy as np
import torch
from numpy.typing import ArrayLike

from trainlab.data.layouts import FRACTION_OPTIONS, SPLITS, DataSpec, Declared, TaskKind
from trainlab.data.loader import Batch, BatchLoader, StepGroup
from trainlab.data.splitting import three_way_split
from trainlab.errors import DataError

__all__ = [
    "FULL_BATCH",
    "Batch",
    "BatchLoader",
    "DataSpec",
    "DownloadedDataModule",
    "FractionSplitDataModule",
    "Splits",
    "StepGroup",
    "TaskKind",
    "TensorDataModule",
]

#: ``batch_size: full``: one step per epoch on the whole training split (full-batch descent).
FULL_BATCH = "full"


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


class TensorDataModule(pl.LightningDataModule):
    """Loads every split once into memory and serves it through ``BatchLoader``.

    Subclasses implement ``load``; everything else (batching, DDP sharding, moving the
    data onto the GPU once when training there) is shared. ``split_options`` names the
    option that sizes each split, for the error a split that comes out empty gives (the
    pre-flight checks catch it earlier where the dataset's size is known).
    ``declared``: what the module's options promise, for trainlab's own DataModules
    (``trainlab.data.layouts``); ``declared_spec`` is the ``DataSpec`` their ``load`` gives.

    ``batch_size="full"`` makes every training batch the whole training split, known
    once the data is loaded: ``batch_size`` holds that number after ``setup``.
    """

    split_options: ClassVar[dict[str, str]] = {}
    declared: ClassVar[Declared | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A declaration names its class's ``_target_``: the pre-flight finds it by that."""
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("declared")
        target = f"{cls.__module__}.{cls.__qualname__}"
        if declared is not None and declared.target != target:
            raise TypeError(f"{target} is declared as {declared.target} in trainlab.data.layouts")

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

    def declared_spec(self) -> DataSpec:
        """The ``DataSpec`` this module's declaration gives its options (its attributes)."""
        assert self.declared is not None, f"{type(self).__name__} has no declaration"
        return self.declared.layout(vars(self)).spec

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        """Raw inputs -> model inputs, with the scaling fitted on the train split."""
        return torch.as_tensor(np.asarray(inputs, dtype=np.float32))

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            splits, spec = self.load()
            self._refuse_empty(splits)
            shape = tuple(splits.train[0].shape[1:])
            if self.declared is not None and shape != spec.input_shape:  # files of another shape
                raise DataError(
                    f"{type(self).__name__} read samples of shape {shape}, not {spec.input_shape}"
                )
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
            steps_taken=self._steps_taken if shuffle and trainer else None,
            steps_per_call=self.steps_per_call if train else 1,
            pad=train,
        )

    def train_batches(self, world_size: int = 1) -> int:
        """Optimizer steps per epoch on each of ``world_size`` ranks (after ``setup``)."""
        return BatchLoader(*self.loaded_splits().train, self.batch_size, world_size=world_size).batches()

    def _steps_taken(self) -> int:
        """The optimizer steps the run has taken (Lightning's public ``global_step``)."""
        assert self.trainer is not None
        return self.trainer.global_step

    def train_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().train, self.batch_size, train=True)

    def val_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().val, self.eval_batch_size, train=False)

    def test_dataloader(self) -> BatchLoader:
        return self._loader(self._device_splits().test, self.eval_batch_size, train=False)


class FractionSplitDataModule(TensorDataModule):
    """A dataset split by fractions (``trainlab.data.splitting``), seeded by ``split_seed``.

    ``val_fraction=None`` holds out only the test part and validates on it, as a
    notebook with one ``train_test_split`` does.
    """

    split_options: ClassVar[dict[str, str]] = dict(zip(SPLITS, FRACTION_OPTIONS, strict=True))

    def __init__(
        self,
        val_fraction: float | None,
        test_fraction: float,
        split_seed: int = 42,
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed

    def split(
        self, n: int, stratify: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted (train, val, test) indices of ``n`` samples, by the module's fractions."""
        return three_way_split(n, self.val_fraction, self.test_fraction, self.split_seed, stratify)


class DownloadedDataModule(TensorDataModule):
    """A dataset read from files under ``data_dir/<folder>``, downloaded when missing.

    ``verify`` checks the files against their published checksums; ``mirrors`` (for
    the datasets trainlab downloads itself) are tried in order.
    """

    folder: ClassVar[str]
    default_mirrors: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = True,
        verify: bool = True,
        mirrors: Sequence[str] | None = None,
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        self.directory = Path(data_dir) / self.folder
        self.download, self.verify = download, verify
        self.mirrors = list(self.default_mirrors if mirrors is None else mirrors)

    def how_to_get(self, files: str) -> str:
        """What to do when the data is missing or corrupt: where to put ``files``."""
        return (
            f"put {files} in {self.directory} (or set TRAINLAB_DATA_DIR / paths.data_dir "
            f"to a folder with {self.folder}/ in it)"
        )
