"""CIFAR-10 from small archives in the real format: reading, the validation carve, the errors.

No copy of the real archive exists on the test machines, so every test writes a small
``cifar-10-python.tar.gz`` (the real member names and pickle layout, few images) and
the loader always runs on the format it will meet.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from trainlab.data.cifar10 import ARCHIVE_MD5, CIFAR10DataModule, md5
from trainlab.data.layouts import layout_of
from trainlab.errors import DataError

from .helpers import CIFAR10_ARCHIVE, REPO, write_small_cifar10

PER_BATCH, TEST = 60, 60


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A data directory with the small archive in ``cifar10/``."""
    write_small_cifar10(tmp_path / "cifar10", per_batch=PER_BATCH, test=TEST)
    return tmp_path


def _module(root: Path, **options: object) -> CIFAR10DataModule:
    return CIFAR10DataModule(data_dir=str(root), **{"verify": False, "val_size": 50, **options})


def _members(archive: Path) -> dict[str, dict[bytes, object]]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name.rsplit("/", 1)[1]: pickle.load(tar.extractfile(m), encoding="bytes")  # type: ignore[arg-type]
            for m in tar
        }


def _rewrite(archive: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_the_archive_is_read_scaled_and_split(small: Path) -> None:
    module = _module(small)
    splits, spec = module.load()
    assert (spec.input_shape, spec.num_outputs, spec.task) == ((3, 32, 32), 10, "multiclass")
    sizes = [len(pair[1]) for pair in (splits.train, splits.val, splits.test)]
    assert sizes == [5 * PER_BATCH - 50, 50, TEST]
    raw = _members(small / "cifar10" / CIFAR10_ARCHIVE)
    test_x, test_y = splits.test
    expected = np.asarray(raw["test_batch"][b"data"]).reshape(-1, 3, 32, 32) / 255.0
    np.testing.assert_allclose(test_x.numpy(), expected, rtol=0, atol=1e-7)  # pixels / 255
    assert test_y.tolist() == raw["test_batch"][b"labels"] and str(test_y.dtype) == "torch.int64"
    train_x = splits.train[0]
    assert float(train_x.min()) >= 0.0 and float(train_x.max()) <= 1.0


def test_validation_is_a_seeded_random_carve_of_the_training_batches(small: Path) -> None:
    from sklearn.model_selection import train_test_split

    raw = _members(small / "cifar10" / CIFAR10_ARCHIVE)
    labels = np.concatenate([raw[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    rest, held_out = train_test_split(labels, test_size=50, random_state=7)  # as the notebook
    splits, _ = _module(small, split_seed=7).load()
    assert splits.val[1].tolist() == held_out.tolist() and splits.train[1].tolist() == rest.tolist()
    other, _ = _module(small, split_seed=8).load()
    assert other.val[1].tolist() != splits.val[1].tolist()


def test_without_a_validation_carve_validation_is_the_test_batch(small: Path) -> None:
    splits, _ = _module(small, val_size=None).load()
    assert len(splits.train[1]) == 5 * PER_BATCH
    assert splits.val[1].tolist() == splits.test[1].tolist()
    assert (
        layout_of({"_target_": "trainlab.data.cifar10.CIFAR10DataModule", "val_size": None}) is not None
    )


def test_an_extracted_folder_is_read_like_the_archive(small: Path, tmp_path: Path) -> None:
    with tarfile.open(small / "cifar10" / CIFAR10_ARCHIVE, "r:gz") as tar:
        tar.extractall(tmp_path / "extracted" / "cifar10", filter="data")
    from_archive, _ = _module(small).load()
    from_folder, _ = _module(tmp_path / "extracted").load()
    assert from_folder.test[1].tolist() == from_archive.test[1].tolist()


def test_layout_says_what_the_data_is(compose_train) -> None:
    cfg = compose_train("data=cifar10")
    layout = layout_of(OmegaConf.to_container(cfg.data, resolve=True))  # type: ignore[arg-type]
    assert layout is not None and layout.splits is not None
    assert (layout.task, layout.input_width, layout.splits.sizes) == (
        "multiclass",
        3072,
        (45_000, 5_000, 10_000),
    )
    assert (cfg.data.val_size, cfg.data.download, cfg.data.verify) == (5000, True, True)
    module = instantiate(cfg.data, data_dir="unused")
    assert isinstance(module, CIFAR10DataModule)


def test_the_lesson_is_set_up_as_the_notebooks_exercise(compose_train) -> None:
    cfg = compose_train("experiment=cifar10_mlp")
    assert cfg.data._target_.endswith("CIFAR10DataModule") and cfg.data.val_size == 5000
    assert (list(cfg.model.hidden), cfg.model.activation, cfg.model.dropout) == ([256, 256], "relu", 0.0)
    assert (cfg.optimizer.lr, cfg.optimizer.momentum, cfg.data.batch_size) == (0.2, 0.0, 64)
    assert cfg.trainer.max_epochs == 10


def test_a_missing_archive_offline_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        _module(tmp_path, download=False).load()
    message = str(error.value)
    assert "\n" not in message and f"{CIFAR10_ARCHIVE} not found; put {CIFAR10_ARCHIVE}" in message


def test_a_failed_download_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found and the download failed") as error:
        _module(tmp_path, mirrors=["http://127.0.0.1:9/"]).load()
    assert "\n" not in str(error.value)


def test_a_download_is_checked_against_the_published_md5(small: Path, tmp_path: Path) -> None:
    mirror = (small / "cifar10").as_uri() + "/"
    fetched = _module(tmp_path / "fetched", mirrors=[mirror]).load()[0]  # verify=false: kept
    assert len(fetched.test[1]) == TEST
    with pytest.raises(DataError, match="does not match its MD5; try again"):
        _module(tmp_path / "checked", mirrors=[mirror], verify=True).load()
    assert not (tmp_path / "checked" / "cifar10" / CIFAR10_ARCHIVE).exists()  # deleted


def test_an_archive_that_is_not_the_published_one_is_refused(small: Path) -> None:
    assert md5(small / "cifar10" / CIFAR10_ARCHIVE) != ARCHIVE_MD5
    with pytest.raises(DataError, match="is corrupt \\(its MD5 is not the published one\\)"):
        _module(small, verify=True).load()


@pytest.mark.parametrize("damage", ["garbage", "missing_batch", "bad_shape", "code"])
def test_damaged_archives_are_one_line(damage: str, small: Path) -> None:
    archive = small / "cifar10" / CIFAR10_ARCHIVE
    members = {name: pickle.dumps(batch, protocol=2) for name, batch in _members(archive).items()}
    if damage == "garbage":
        archive.write_bytes(b"not a tar.gz")
    elif damage == "missing_batch":
        del members["data_batch_3"]
        _rewrite(archive, members)
    elif damage == "bad_shape":
        members["test_batch"] = pickle.dumps({b"data": np.zeros((4, 10), np.uint8), b"labels": [0] * 4})
        _rewrite(archive, members)
    else:  # a pickle that would run code when loaded
        members["test_batch"] = b"cos\nsystem\n(S'echo pwned'\ntR."
        _rewrite(archive, members)
    expected = {
        "garbage": "cannot read",
        "missing_batch": "lacks cifar-10-batches-py/data_batch_3",
        "bad_shape": "expected (N, 3072)",
        "code": "os.system is not part of a CIFAR-10 batch",
    }[damage]
    with pytest.raises(DataError, match=expected.replace("(", "\\(").replace(")", "\\)")) as error:
        _module(small).load()
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_train_py_without_the_archive_offline_is_one_line(tmp_path: Path) -> None:
    process = subprocess.run(
        [
            sys.executable,
            "train.py",
            "experiment=cifar10_mlp",
            f"paths.data_dir={tmp_path}",
            "data.download=false",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert process.returncode == 1, process.stderr
    assert lines == [
        f"trainlab: error: {tmp_path / 'cifar10' / CIFAR10_ARCHIVE} not found; put {CIFAR10_ARCHIVE} "
        f"(from https://www.cs.toronto.edu/~kriz/{CIFAR10_ARCHIVE}) in {tmp_path / 'cifar10'} "
        "(or set TRAINLAB_DATA_DIR / paths.data_dir to a folder with cifar10/ in it)"
    ]
