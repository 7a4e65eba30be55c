"""Wall-clock timing that waits for the GPU, so queued kernels count where they ran."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, work: Callable[[], Any]) -> float:
    """Seconds ``work()`` takes on ``device``, its queued GPU work included."""
    synchronize(device)
    start = perf_counter()
    work()
    synchronize(device)
    return perf_counter() - start


class EpochClock:
    """Seconds of each epoch, started and stopped by an engine's timing callback."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def start(self) -> None:
        self._start = perf_counter()

    def stop(self) -> None:
        self.seconds.append(perf_counter() - self._start)
