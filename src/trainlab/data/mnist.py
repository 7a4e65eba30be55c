"""MNIST from its IDX files: the original 60k/10k split, validation carved from train."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F

from trainlab.data import files, layouts
from trainlab.data.base import DataSpec, DownloadedDataModule, Splits
from trainlab.data.layouts import Declared
from trainlab.errors import DataError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# SHA-256 of the decompressed IDX files (the gzip wrappers differ between mirrors).
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}
MEAN, STD = 0.1307, 0.3081


def parse_idx(data: bytes, path: Path) -> np.ndarray:
    """An IDX file's array: big-endian header (magic, dims), then uint8 values."""
    ndim = data[3] if len(data) >= 4 else 0
    if len(data) < 4 + 4 * ndim or int.from_bytes(data[:4], "big") != IDX_MAGIC.get(ndim):
        raise DataError(f"{path} is not an MNIST IDX file; delete it to download it again")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated; delete it to download it again")
    return values.reshape(shape)


class MNISTDataModule(DownloadedDataModule):
    """MNIST as float tensors in [0, 1] (optionally normalised), labels as int64.

    ``classes`` keeps a subset (relabelled 0..k-1) and ``image_size`` resizes, for the
    lesson's 0-vs-1 on 6x6 images; with two classes the task is binary, and
    ``one_hot`` gives it two sigmoid outputs as the lesson's Keras model has.
    ``val_size=None`` trains on all 60,000 training images and validates on the test
    set, as a notebook that passes the test set as ``validation_data`` does.
    """

    declared: ClassVar[Declared] = layouts.MNIST
    folder: ClassVar[str] = "mnist"
    default_mirrors: ClassVar[tuple[str, ...]] = MIRRORS
    split_options: ClassVar[dict[str, str]] = {
        "train": "data.val_size or data.classes",
        "val": "data.val_size or data.classes",
        "test": "data.classes",
    }

    def __init__(
        self,
        val_size: int | None = 10_000,
        normalize: bool = False,
        classes: Sequence[int] | None = None,
        image_size: int | None = None,
        resize_method: Literal["area", "bilinear"] = "area",
        one_hot: bool = False,
        **files_and_loader: Any,
    ) -> None:
        super().__init__(**files_and_loader)
        self.val_size, self.normalize = val_size, normalize
        self.classes = list(classes) if classes else None
        self.image_size, self.resize_method, self.one_hot = image_size, resize_method, one_hot

    def _how_to_get(self) -> str:
        return self.how_to_get(", ".join(n + ".gz" for n in FILES))

    def prepare_data(self) -> None:
        for name in FILES:
            if files.find_file(self.directory, (name + ".gz", name)):
                continue
            if not self.download:
                raise DataError(f"{self.directory / name}.gz not found; {self._how_to_get()}")
            target = self.directory / f"{name}.gz"
            try:
                files.download([m + name + ".gz" for m in self.mirrors], target)
            except OSError as error:
                raise DataError(
                    f"{target} not found and the download failed ({error}); {self._how_to_get()}"
                ) from None
            data = files.read_maybe_gzipped(target)
            if self.verify and files.sha256(data) != FILES[name]:
                target.unlink()
                raise DataError(f"downloaded {target} does not match its SHA-256; try again")

    def _read(self, name: str) -> np.ndarray:
        path = files.find_file(self.directory, (name + ".gz", name))
        if path is None:
            self.prepare_data()
            path = files.find_file(self.directory, (name + ".gz", name))
            assert path is not None
        data = files.read_maybe_gzipped(path)
        if self.verify:
            files.verify(path, data, FILES[name], self._how_to_get())
        return parse_idx(data, path)

    def _images(self, raw: np.ndarray) -> torch.Tensor:
        images = torch.from_numpy(raw.astype(np.float32) / 255.0)
        if self.image_size:
            size = (self.image_size, self.image_size)
            batch = images.unsqueeze(1)
            if self.resize_method == "bilinear":  # tf.image.resize's default
                batch = F.interpolate(batch, size, mode="bilinear", align_corners=False)
            else:
                batch = F.interpolate(batch, size, mode="area")
            images = batch.squeeze(1)
        if self.normalize:
            images = (images - MEAN) / STD
        return images.contiguous()

    def _keep_classes(self, images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Images as float tensors; with ``classes``, only those, relabelled 0..k-1."""
        if self.classes:
            keep = np.isin(labels, self.classes)
            relabel = np.zeros(256, dtype=np.int64)
            relabel[self.classes] = np.arange(len(self.classes))
            images, labels = images[keep], relabel[labels[keep]]
        return self._images(images), torch.from_numpy(labels.astype(np.int64))

    def load(self) -> tuple[Splits, DataSpec]:
        train_x, train_y = self._read("train-images-idx3-ubyte"), self._read("train-labels-idx1-ubyte")
        test_x, test_y = self._read("t10k-images-idx3-ubyte"), self._read("t10k-labels-idx1-ubyte")
        if self.val_size is not None and self.val_size >= len(train_y):
            raise DataError(
                f"data.val_size={self.val_size} leaves no training data ({len(train_y):,} images)"
            )
        test = self._keep_classes(test_x, test_y)
        if self.val_size is None:  # no validation part: validation is the test set
            splits = Splits(self._keep_classes(train_x, train_y), test, test)
        else:
            cut = len(train_y) - self.val_size  # validation = the last val_size images of train
            splits = Splits(
                self._keep_classes(train_x[:cut], train_y[:cut]),
                self._keep_classes(train_x[cut:], train_y[cut:]),
                test,
            )
        return splits, self.declared_spec()
