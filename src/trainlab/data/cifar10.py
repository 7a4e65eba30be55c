"""CIFAR-10 from the official python-pickle archive: 50k/10k images, validation carved from train.

The archive (``cifar-10-python.tar.gz``) holds ``data_batch_1`` .. ``data_batch_5`` and
``test_batch``, each a pickled dict with ``b"data"`` (uint8, N x 3072: the red, green and
blue 32x32 planes of each image) and ``b"labels"``. The batches are read straight from
the archive, so nothing is extracted to disk; a folder already extracted
(``cifar-10-batches-py/``, as torchvision leaves it) is read as well. Unpickling is
restricted to the few classes these files use: a pickle can otherwise run any code,
and the archive comes from the internet.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from trainlab.data import files, layouts
from trainlab.data.base import DataSpec, DownloadedDataModule, Splits
from trainlab.data.layouts import CIFAR10_CLASSES as CLASSES
from trainlab.data.layouts import CIFAR10_SHAPE, Declared
from trainlab.errors import DataError

ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # published with the archive
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CHANNELS, SIDE, _ = CIFAR10_SHAPE
#: What the batches' pickles may construct: numpy arrays (as numpy pickles them) and bytes.
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR-10 batch")
        return super().find_class(module, name)


def parse_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch's images (N, 3, 32, 32) uint8 and labels (N,) int64, or a one-line error."""
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
        images = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as error:  # a pickle can fail in many ways; all mean the file is bad
        raise DataError(
            f"{where} is not a CIFAR-10 batch ({error}); delete it to download it again"
        ) from None
    width = CHANNELS * SIDE * SIDE
    if images.ndim != 2 or images.shape[1] != width or len(images) != len(labels):
        raise DataError(
            f"{where} holds {images.shape} images and {len(labels)} labels, "
            f"expected (N, {width}) and N; delete it to download it again"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= CLASSES):
        raise DataError(f"{where} has labels outside 0..{CLASSES - 1}; delete it to download it again")
    return images.reshape(-1, CHANNELS, SIDE, SIDE), labels


def md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_archive(path: Path, names: Sequence[str]) -> dict[str, bytes]:
    """The named members of ``cifar-10-batches-py/`` in the archive, as bytes."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                folder, _, base = name.rpartition("/")
                if folder == FOLDER and base in names and member.isfile():
                    stream = archive.extractfile(member)
                    assert stream is not None  # a regular file always has a stream
                    found[base] = stream.read()
    except (OSError, EOFError, tarfile.TarError) as error:
        raise DataError(f"cannot read {path}: {error}; delete it to download it again") from None
    missing = [name for name in names if name not in found]
    if missing:
        raise DataError(
            f"{path} lacks {FOLDER}/{', '.join(missing)}; it is not the CIFAR-10 python archive"
        )
    return found


class CIFAR10DataModule(DownloadedDataModule):
    """CIFAR-10 as float tensors (N, 3, 32, 32) in [0, 1] (pixels / 255), labels as int64.

    Validation is ``val_size`` images drawn at random from the 50,000 training images
    (``train_test_split(test_size=val_size)``, unstratified, as the lesson's notebook
    carves it), seeded by ``split_seed``; test is the official test batch. The channel
    planes stay in the archive's (torch's) order; figures draw them stacked, one grey
    32x32 plane above the next.
    """

    declared: ClassVar[Declared] = layouts.CIFAR10
    folder: ClassVar[str] = "cifar10"
    default_mirrors: ClassVar[tuple[str, ...]] = MIRRORS
    split_options: ClassVar[dict[str, str]] = {"train": "data.val_size", "val": "data.val_size"}

    def __init__(
        self, val_size: int | None = 5_000, split_seed: int = 42, **files_and_loader: Any
    ) -> None:
        super().__init__(**files_and_loader)
        self.val_size, self.split_seed = val_size, split_seed

    @property
    def archive(self) -> Path:
        return self.directory / ARCHIVE

    def _how_to_get(self) -> str:
        source = (self.mirrors or list(MIRRORS))[0] + ARCHIVE
        return self.how_to_get(f"{ARCHIVE} (from {source})")

    def _extracted(self) -> Path | None:
        folder = self.directory / FOLDER
        names = (*TRAIN_BATCHES, TEST_BATCH)
        return folder if all((folder / name).is_file() for name in names) else None

    def prepare_data(self) -> None:
        if self.archive.is_file() or self._extracted() is not None:
            return
        if not self.download:
            raise DataError(f"{self.archive} not found; {self._how_to_get()}")
        try:
            files.download([mirror + ARCHIVE for mirror in self.mirrors], self.archive)
        except OSError as error:
            raise DataError(
                f"{self.archive} not found and the download failed ({error}); {self._how_to_get()}"
            ) from None
        if self.verify and md5(self.archive) != ARCHIVE_MD5:
            self.archive.unlink()
            raise DataError(f"downloaded {self.archive} does not match its MD5; try again")

    def _batches(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        names = (*TRAIN_BATCHES, TEST_BATCH)
        self.prepare_data()
        if self.archive.is_file():
            if self.verify and md5(self.archive) != ARCHIVE_MD5:
                raise DataError(
                    f"{self.archive} is corrupt (its MD5 is not the published one); "
                    f"delete it to download it again, or {self._how_to_get()}"
                )
            raw = read_archive(self.archive, names)
            return {name: parse_batch(raw[name], f"{self.archive}:{FOLDER}/{name}") for name in names}
        folder = self._extracted()
        assert folder is not None  # prepare_data found the archive or the folder
        return {name: parse_batch(self._read(folder / name), str(folder / name)) for name in names}

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            raise DataError(f"cannot read {path}: {error}") from None

    def _carve_validation(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Train and validation indices: ``val_size`` images at random, unstratified."""
        from sklearn.model_selection import train_test_split

        assert self.val_size is not None
        if not 0 < self.val_size < count:
            raise DataError(
                f"data.val_size={self.val_size} cannot split {count:,} training images: "
                f"expected 0 < val_size < {count:,}"
            )
        train, val = train_test_split(
            np.arange(count), test_size=self.val_size, random_state=self.split_seed
        )
        return np.asarray(train), np.asarray(val)

    @staticmethod
    def _tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels)

    def load(self) -> tuple[Splits, DataSpec]:
        batches = self._batches()
        train_x = np.concatenate([batches[name][0] for name in TRAIN_BATCHES])
        train_y = np.concatenate([batches[name][1] for name in TRAIN_BATCHES])
        test = self._tensors(*batches[TEST_BATCH])
        if self.val_size is None:  # no carve: validation reports on the test batch, as mnist's
            splits = Splits(self._tensors(train_x, train_y), test, test)
        else:
            train, val = self._carve_validation(len(train_y))
            splits = Splits(
                self._tensors(train_x[train], train_y[train]),
                self._tensors(train_x[val], train_y[val]),
                test,
            )
        return splits, self.declared_spec()
