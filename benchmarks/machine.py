"""What a result was measured on: CPU, threads, device and library versions."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

PACKAGES = ("torch", "lightning", "keras")


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def host() -> dict[str, Any]:
    """The CPU, cores, Python and library versions; imports nothing heavy."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **{name: installed(name) for name in PACKAGES},
    }


def machine(device: torch.device) -> dict[str, Any]:
    """``host()`` and what torch runs on: its threads and the device."""
    import torch

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {**host(), "torch_threads": torch.get_num_threads(), "device": gpu or "cpu"}
