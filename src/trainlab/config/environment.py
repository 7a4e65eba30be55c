"""What the machine must provide for a run: a writable run directory, the devices, the data
directory; float16 needs a GPU, several machines need rank 0's address.

These depend on the machine, not on the config alone, so ``check_config`` (which a
config must pass on any machine) leaves them out and the pre-flight checks them once
the values are sound, before Hydra creates the run directory. A run that cannot write
its outputs, or asks for 64 processes on 2 CPUs (Lightning starts them all and
hangs), then fails in well under a second with one line. torch is imported only to
count GPUs: when the trainer asks for one, for several devices of any kind, or for
float16, and only where the NVIDIA driver is installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from trainlab.config.values import MISSING, plural, value_at
from trainlab.errors import ConfigError, DataError

#: ``paths.data_dir`` without ``TRAINLAB_DATA_DIR``: made in the working directory for downloads.
DEFAULT_DATA_DIR = "data"
DATA_DIR_VARIABLE = "TRAINLAB_DATA_DIR"


def check_writable(directory: str | Path, option: str) -> None:
    """Create ``directory`` and a file in it, then remove whatever this made.

    Trying is the only reliable test: permission bits say nothing of ``/proc``, a
    read-only mount, or a file standing where a parent folder should be.
    """
    directory = Path(directory).expanduser().absolute()
    made = [path for path in (directory, *directory.parents) if not path.exists()]  # deepest first
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot write the run directory {directory} ({option}): {reason}") from None
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                path.rmdir()


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Device nodes of the NVIDIA driver (``/dev/dxg``: WSL's GPU); CUDA needs one of them.
NVIDIA_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/proc/driver/nvidia")


def cuda_devices() -> int:
    """The CUDA GPUs torch sees (``CUDA_VISIBLE_DEVICES`` applies).

    On Linux without the NVIDIA driver's device nodes there are none, and importing
    torch (seconds) to hear so is skipped. NVML counts them without creating a CUDA
    context in this process (Lightning sets the same variable when imported), so
    processes forked later may still use CUDA.
    """
    if sys.platform == "linux" and not any(os.path.exists(node) for node in NVIDIA_NODES):
        return 0
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    import torch

    return int(torch.cuda.device_count())


def requested_devices(devices: Any) -> int | list[int] | None:
    """Lightning's ``devices`` as a count, a list of indices, or None for all of them."""
    if isinstance(devices, str):
        text = devices.strip()
        if text == "auto":
            return None
        if "," in text:
            return [int(part) for part in text.split(",") if part.strip()]
        devices = int(text)
    if isinstance(devices, list):
        return [int(index) for index in devices]
    return None if devices == -1 else int(devices)


def _check_gpus(shown: str, request: int | list[int] | None, gpus: int, accelerator: str) -> None:
    if gpus == 0:
        raise ConfigError(
            f"trainer.accelerator={accelerator} but this machine has no CUDA GPU "
            f"(cpu only, {plural(available_cpus(), 'CPU')}); use trainer=cpu"
        )
    if isinstance(request, list):
        beyond = [index for index in request if index >= gpus]
        if beyond:
            raise ConfigError(
                f"trainer.devices={shown} names GPU {beyond[0]}; this machine has "
                f"{plural(gpus, 'CUDA GPU')} (0-{gpus - 1})"
            )
    elif request is not None and request > gpus:
        raise ConfigError(
            f"trainer.devices={shown} asks for {plural(request, 'GPU')}; this machine has "
            f"{plural(gpus, 'CUDA GPU')}"
        )


def _check_cpus(shown: str, request: int | list[int] | None, cpus: int, no_gpu: bool) -> None:
    if isinstance(request, list) or (request is None and shown != "auto"):
        raise ConfigError(
            f"trainer.devices={shown} is not a number of CPU processes: give one from 1 to {cpus}"
        )
    if request is not None and request > cpus:
        machine = "no CUDA GPU and " if no_gpu else ""
        raise ConfigError(
            f"trainer.devices={shown} asks for {plural(request, 'CPU process')}; this machine has "
            f"{machine}{plural(cpus, 'CPU')}"
        )


def check_devices(cfg: DictConfig) -> None:
    """``trainer.devices`` fits the devices of ``trainer.accelerator`` this machine has."""
    accelerator, devices = value_at(cfg, "trainer.accelerator"), value_at(cfg, "trainer.devices")
    if accelerator is MISSING and devices is MISSING:
        return
    accelerator = "auto" if accelerator in (MISSING, None) else accelerator
    devices = "auto" if devices in (MISSING, None) else devices
    if not isinstance(accelerator, str):
        return  # an Accelerator object of the user's own: Lightning's business
    shown, request = str(devices).replace(" ", ""), requested_devices(devices)
    several = isinstance(request, list) or request is None or request > 1
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and several):
        gpus = cuda_devices()
        if gpus or accelerator != "auto":
            _check_gpus(shown, request, gpus, accelerator)
            return
    if accelerator == "mps":
        if request not in (None, 1) or isinstance(request, list):
            raise ConfigError(f"trainer.devices={shown}: Apple's MPS is one device (trainer.devices=1)")
        return
    _check_cpus(shown, request, available_cpus(), no_gpu=accelerator == "auto")


def check_data_dir(cfg: DictConfig) -> None:
    """A data directory given on purpose must exist: a mistyped one is not created silently.

    Only the default ``./data`` (no ``TRAINLAB_DATA_DIR``, no ``paths.data_dir``) is
    made on demand, for the first download.
    """
    data_dir = value_at(cfg, "data.data_dir")
    if data_dir in (MISSING, None) or Path(str(data_dir)).expanduser().is_dir():
        return
    from_variable = os.environ.get(DATA_DIR_VARIABLE) == str(data_dir)
    if not from_variable and str(data_dir) == DEFAULT_DATA_DIR:
        return
    if from_variable:
        source = DATA_DIR_VARIABLE
    else:
        source = "paths.data_dir" if value_at(cfg, "paths.data_dir") == data_dir else "data.data_dir"
    path = Path(str(data_dir)).expanduser()
    problem = "is not a directory" if path.exists() else "does not exist"
    raise DataError(f"data directory {path} {problem} ({source}); create it or correct the path")


#: Precisions that need a CUDA GPU: on a CPU Lightning would train in bf16 instead, unasked.
GPU_PRECISIONS = ("16-mixed", "16", 16)


def runs_on_gpu(cfg: DictConfig) -> bool:
    """Whether ``cfg``'s trainer lands on a CUDA GPU here (``auto`` takes one if present)."""
    accelerator = value_at(cfg, "trainer.accelerator")
    if accelerator in ("gpu", "cuda"):
        return True
    return accelerator in (MISSING, None, "auto") and cuda_devices() > 0


def check_precision(cfg: DictConfig) -> None:
    """Float16 mixed precision needs a CUDA GPU (bfloat16 and 32-bit run anywhere)."""
    precision = value_at(cfg, "trainer.precision")
    if precision in GPU_PRECISIONS and not runs_on_gpu(cfg):
        raise ConfigError(
            f"trainer.precision={precision} needs a CUDA GPU; on the CPU use "
            "trainer.precision=bf16-mixed or 32-true"
        )


#: What every machine of a ``trainer.num_nodes > 1`` job needs to find rank 0.
NODE_VARIABLES = ("MASTER_ADDR", "MASTER_PORT")


def check_nodes(cfg: DictConfig) -> None:
    """Several machines find rank 0 through ``MASTER_ADDR`` and ``MASTER_PORT``."""
    nodes = value_at(cfg, "trainer.num_nodes")
    if nodes in (MISSING, None) or nodes == 1:
        return
    devices = value_at(cfg, "trainer.devices")
    if not (isinstance(devices, int) and devices >= 1):
        raise ConfigError(
            f"trainer.num_nodes={nodes} needs trainer.devices as a number (the processes on "
            f"each machine), not {devices}"
        )
    missing = [name for name in NODE_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ConfigError(
            f"trainer.num_nodes={nodes} needs {' and '.join(missing)} set on every machine "
            "(rank 0's address and a free port)"
        )


def check_environment(cfg: DictConfig, run_dir: str | Path, run_dir_option: str) -> None:
    """Everything above, for a run of ``cfg`` writing to ``run_dir`` (set by ``run_dir_option``)."""
    check_writable(run_dir, run_dir_option)
    check_devices(cfg)
    check_precision(cfg)
    check_nodes(cfg)
    check_data_dir(cfg)
