"""Shared test code (fixtures live in conftest.py): the CLI runner, data files, the lessons.

- ``run_script`` runs a script of the repository as a user does and returns a ``Result``;
- ``write_small_mnist``, ``write_small_housing`` and ``write_small_cifar10`` write small,
  learnable datasets in the real formats (gzip IDX, the StatLib CSV, the pickle archive),
  so the loaders are exercised without the real files; ``DataDir`` says where the
  datasets are and the overrides that fit them;
- ``EXPERIMENTS``, ``ENGINES`` and ``lesson_data_overrides`` drive the lesson tests.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "conf"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
EXPERIMENTS = sorted(path.stem for path in (CONFIG_DIR / "experiment").glob("*.yaml"))
ENGINES = ("lightning", "keras")
SMALL_VAL_SIZE = 100  # of the generated 600 training images
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
SMALL_CIFAR10_VAL_SIZE = 50  # of the generated 5 x 60 training images
# Housing whose learning rate grows 10^4-fold per epoch: epoch 1 trains, a later one diverges.
DIVERGING = (
    "optimizer=sgd",
    "optimizer.lr=0.001",
    "+scheduler._target_=torch.optim.lr_scheduler.ExponentialLR",
    "+scheduler._partial_=true",
    "+scheduler.gamma=10000",
    "trainer.max_epochs=5",
)


@dataclass
class Result:
    """A finished CLI run: its exit code, output and run directory."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path

    @property
    def metrics(self) -> dict[str, float]:
        return json.loads((self.run_dir / "metrics.json").read_text())

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_script(script: str, args: list[str], run_dir: Path, timeout: int = 300) -> Result:
    """Run ``python <script> args... hydra.run.dir=<run_dir>`` from the repository root."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    process = subprocess.run(
        [sys.executable, script, *args, f"hydra.run.dir={run_dir}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(process.returncode, process.stdout, process.stderr, run_dir)


#: Modules whose import a refused command line should not have waited for.
HEAVY = ("hydra", "omegaconf", "torch", "lightning")


def refuse_in_process(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``train.py argv`` through ``trainlab.cli.train``; the ``HEAVY`` modules it imported."""
    probe = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules)))))\n"
        f"sys.argv = ['train.py', *{list(argv)!r}]\n"
        "from trainlab.cli import train\n"
        "train()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    printed = result.stdout.strip().splitlines()
    return result, set(json.loads(printed[-1])) if printed else set(HEAVY)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, the format MNIST ships in."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def write_small_mnist(directory: Path, train: int = 600, test: int = 200) -> None:
    """Learnable fake digits: class k lights up row band k, plus noise."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count)
        images = rng.integers(0, 60, (count, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 250
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)


def _cifar10_batch(labels: np.ndarray, rng: np.random.Generator, name: str) -> bytes:
    """One batch pickled as the archive's are: bytes keys, uint8 (N, 3072) data, int labels.

    Class k lights up row band k of the red plane, plus noise, so a model can learn it.
    """
    images = rng.integers(0, 60, (len(labels), 3, 32, 32))
    for i, label in enumerate(labels):
        images[i, 0, 2 + 3 * label : 4 + 3 * label, 4:28] = 250
    batch = {
        b"batch_label": name.encode(),
        b"labels": [int(label) for label in labels],
        b"data": images.reshape(len(labels), -1).astype(np.uint8),
        b"filenames": [f"{i}.png".encode() for i in range(len(labels))],
    }
    return pickle.dumps(batch, protocol=2)


def write_small_cifar10(directory: Path, per_batch: int = 60, test: int = 60) -> Path:
    """A ``cifar-10-python.tar.gz`` with the real member names and pickle layout, few images."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    members = {f"data_batch_{i}": per_batch for i in range(1, 6)} | {"test_batch": test}
    archive = directory / CIFAR10_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for name, count in members.items():
            data = _cifar10_batch(rng.integers(0, 10, count), rng, name)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


@functools.cache
def small_cifar10_root() -> Path:
    """A data directory holding the small CIFAR-10 archive (no copy of the real one exists)."""
    root = Path(tempfile.mkdtemp(prefix="trainlab-cifar10-"))
    write_small_cifar10(root / "cifar10")
    return root


def write_small_housing(directory: Path, rows: int = 400) -> None:
    """A StatLib-format cal_housing.data (9 columns, CRLF) with a learnable target."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    households = rng.integers(100, 1000, rows)
    income = rng.uniform(0.5, 15, rows)
    table = np.column_stack(
        [
            rng.uniform(-124, -114, rows),
            rng.uniform(32, 42, rows),
            rng.integers(1, 52, rows),
            households * rng.uniform(3, 8, rows),
            households * rng.uniform(0.8, 1.3, rows),
            households * rng.uniform(2, 4, rows),
            households,
            income,
            np.clip(income * 40_000 + rng.normal(0, 20_000, rows), 15_000, 500_001),
        ]
    )
    lines = [",".join(f"{v:.4f}" for v in row) for row in table]
    (directory / "cal_housing.data").write_bytes(("\r\n".join(lines) + "\r\n").encode())


@dataclass
class DataDir:
    """Where MNIST and housing are, and the overrides that fit those files."""

    path: Path
    real: bool

    @property
    def mnist(self) -> list[str]:
        small = [] if self.real else ["data.verify=false", f"data.val_size={SMALL_VAL_SIZE}"]
        return ["data=mnist", f"paths.data_dir={self.path}", *small]

    @property
    def housing(self) -> list[str]:
        small = [] if self.real else ["data.verify=false"]
        return ["data=housing", f"paths.data_dir={self.path}", *small]

    @classmethod
    def real_files(cls, root: Path) -> DataDir | None:
        """``root`` when it holds the real MNIST and housing files, else None."""
        root = root.resolve()
        has_mnist = all((root / "mnist" / f"{name}.gz").is_file() for name in MNIST_FILES)
        has_housing = (root / "california_housing" / "cal_housing.data").is_file()
        return cls(root, real=True) if has_mnist and has_housing else None

    @classmethod
    def small_files(cls, root: Path) -> DataDir:
        """Small generated copies of both datasets, written under ``root``."""
        write_small_mnist(root / "mnist")
        write_small_housing(root / "california_housing")
        return cls(root, real=False)


def lesson_data_overrides(experiment: str, data_dir: DataDir) -> list[str]:
    """Where a lesson finds MNIST or housing; the toy and digits lessons need nothing.

    The real files need only the path; the small generated copies skip the checksum
    check, and MNIST lessons get a validation split that fits 600 training images.
    """
    if experiment.startswith("cifar10"):
        if (data_dir.path / "cifar10" / CIFAR10_ARCHIVE).is_file():
            return [f"paths.data_dir={data_dir.path}"]
        small = ["data.verify=false", f"data.val_size={SMALL_CIFAR10_VAL_SIZE}"]
        return [f"paths.data_dir={small_cifar10_root()}", *small]
    if not experiment.startswith(("mnist", "housing")):
        return []
    if data_dir.real:
        return [f"paths.data_dir={data_dir.path}"]
    overrides = [f"paths.data_dir={data_dir.path}", "data.verify=false"]
    if experiment.startswith("mnist"):
        overrides.append(f"data.val_size={SMALL_VAL_SIZE}")
    return overrides
