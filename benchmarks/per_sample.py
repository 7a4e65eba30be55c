"""The per-sample row: the common tutorial template, a ``Dataset`` whose ``__getitem__``
transforms one sample, batched by a ``DataLoader``'s collation.

``Normalize(0, 1)`` keeps the values trainlab trains on while paying the template's
per-sample cost. Images become PIL images first, as torchvision's MNIST does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from benchmarks.loops import timed_epoch
from trainlab.data.base import Batch, TensorDataModule


class ToTensor:
    """torchvision-style: one PIL image or array -> float tensor; 8-bit pixels scaled by 1/255."""

    def __call__(self, sample: Any) -> torch.Tensor:
        if isinstance(sample, Image.Image):
            sample = np.array(sample, np.uint8, copy=True)
        tensor = torch.from_numpy(np.ascontiguousarray(sample))
        if tensor.dtype == torch.uint8:
            return tensor.to(torch.float32).div(255)
        return tensor.to(torch.float32, copy=True)


class Normalize:
    """torchvision-style ``(x - mean) / std`` on one sample."""

    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.sub(self.mean).div(self.std)


class Compose:
    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Any) -> Any:
        for transform in self.transforms:
            sample = transform(sample)
        return sample


def stored_as_in_templates(x: torch.Tensor) -> np.ndarray[Any, Any]:
    """The array a template's Dataset keeps: uint8 pixels when the values are k/255
    (MNIST, as torchvision stores it), else float32 features."""
    values = x.cpu().numpy()
    pixels = np.round(values * 255)
    if values.min() >= 0 and values.max() <= 1 and np.array_equal(pixels / 255, values):
        return pixels.astype(np.uint8)
    return values.astype(np.float32)


class PerSampleDataset(Dataset[tuple[torch.Tensor, Any]]):
    """``__getitem__`` returns one transformed sample and its label."""

    def __init__(self, pair: Batch) -> None:
        self.samples = stored_as_in_templates(pair[0])
        self.targets = pair[1].cpu().numpy()
        self.transform = Compose([ToTensor(), Normalize(0.0, 1.0)])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        target = self.targets[index]
        label = int(target) if target.ndim == 0 else torch.from_numpy(target)
        sample: Any = self.samples[index]
        if sample.dtype == np.uint8 and sample.ndim == 2:  # torchvision's MNIST.__getitem__
            sample = Image.fromarray(sample)
        return self.transform(sample), label


def per_sample_epoch(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> float:
    """The per-sample row: the same loop, fed by ``DataLoader``s over ``PerSampleDataset``s."""
    assert datamodule.splits is not None
    splits, pin = datamodule.splits, device.type == "cuda"
    train = DataLoader(
        PerSampleDataset(splits.train), datamodule.batch_size, shuffle=True, pin_memory=pin
    )
    val = DataLoader(PerSampleDataset(splits.val), datamodule.eval_batch_size, pin_memory=pin)
    return timed_epoch(cfg, datamodule, device, train, val)
