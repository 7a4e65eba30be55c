"""DataModules: splits, scaling, loaders, and one-line errors for missing/corrupt files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from trainlab.data import BatchLoader
from trainlab.errors import DataError


def _setup(compose_train, *overrides):
    datamodule = instantiate(compose_train(*overrides).data)
    datamodule.setup()
    return datamodule


def test_digits_split_is_stratified_seeded_and_complete(compose_train):
    first = _setup(compose_train, "data=digits")
    again = _setup(compose_train, "data=digits")
    other = _setup(compose_train, "data=digits", "data.split_seed=7")
    sizes = [len(pair[1]) for pair in (first.splits.train, first.splits.val, first.splits.test)]
    assert sum(sizes) == 1797
    assert sizes[2] == pytest.approx(0.2 * 1797, abs=1)
    assert torch.equal(first.splits.test[0], again.splits.test[0])
    assert not torch.equal(first.splits.test[0], other.splits.test[0])
    share = torch.bincount(first.splits.test[1], minlength=10) / sizes[2]
    assert torch.all((share - 0.1).abs() < 0.02)  # stratified: ~10% per class
    assert float(first.splits.train[0].max()) == 1.0  # pixel_scale=unit: 0..16 -> 0..1


@pytest.mark.slow  # reads the 70,000 real digits when they are there
def test_mnist_keeps_the_original_split_and_scales_pixels(compose_train, data_dir):
    mnist = _setup(compose_train, *data_dir.mnist)
    train, val, test = (len(p[1]) for p in (mnist.splits.train, mnist.splits.val, mnist.splits.test))
    if data_dir.real:
        assert (train, val, test) == (50_000, 10_000, 10_000)
        full = torch.cat([mnist.splits.train[0], mnist.splits.val[0]])
        assert float(full.mean()) == pytest.approx(0.1307, abs=1e-4)
    else:
        assert (train, val, test) == (500, 100, 200)
    assert mnist.spec.input_shape == (28, 28)
    assert float(mnist.splits.train[0].min()) >= 0.0 and float(mnist.splits.train[0].max()) <= 1.0
    normalized = _setup(compose_train, *data_dir.mnist, "data.normalize=true")
    assert float(normalized.splits.train[0].min()) == pytest.approx(-0.1307 / 0.3081, abs=1e-5)


@pytest.mark.parametrize("scaler", ["standard", "minmax", "none"])
def test_housing_scaler_is_fitted_on_the_training_split_only(compose_train, data_dir, scaler):
    housing = _setup(compose_train, *data_dir.housing, f"data.scaler={scaler}")
    train_x, val_x = housing.splits.train[0], housing.splits.val[0]
    assert housing.spec.input_shape == (8,) and housing.spec.task == "regression"
    if scaler == "standard":
        assert torch.allclose(train_x.mean(0), torch.zeros(8), atol=1e-4)
        assert not torch.allclose(val_x.mean(0), torch.zeros(8), atol=1e-4)
    elif scaler == "minmax":
        assert float(train_x.min()) == 0.0 and float(train_x.max()) == pytest.approx(1.0)
    else:
        assert float(train_x[:, 0].max()) > 1.5  # MedInc in 10k USD, unscaled


def test_housing_features_match_scikit_learns_derivation(compose_train, data_dir):
    if not data_dir.real:
        pytest.skip("needs the real StatLib file (set TRAINLAB_DATA_DIR)")
    housing = _setup(compose_train, *data_dir.housing, "data.scaler=none")
    x = torch.cat([housing.splits.train[0], housing.splits.val[0], housing.splits.test[0]])
    y = torch.cat([housing.splits.train[1], housing.splits.val[1], housing.splits.test[1]])
    assert len(y) == 20_640
    means = x.double().mean(0)
    assert means[[0, 2, 3]].tolist() == pytest.approx([3.8707, 5.4290, 1.0967], abs=1e-4)
    assert float(y.double().mean()) == pytest.approx(2.0686, abs=1e-4)


def test_missing_dataset_names_the_path_and_how_to_get_it(compose_train, tmp_path):
    cfg = compose_train("data=mnist", f"paths.data_dir={tmp_path}", "data.download=false")
    with pytest.raises(DataError) as error:
        instantiate(cfg.data).prepare_data()
    message = str(error.value)
    assert str(tmp_path / "mnist") in message and "TRAINLAB_DATA_DIR" in message
    assert "\n" not in message


def test_offline_download_fails_with_one_line(compose_train, tmp_path):
    cfg = compose_train(
        "data=mnist", f"paths.data_dir={tmp_path}", "+data.mirrors=[http://127.0.0.1:9/]"
    )
    with pytest.raises(DataError, match="download failed") as error:
        instantiate(cfg.data).prepare_data()
    assert "\n" not in str(error.value)


def test_corrupt_files_are_detected_by_checksum(compose_train, tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        with gzip.open(tmp_path / "mnist" / f"{name}.gz", "wb") as stream:
            stream.write(b"\x00\x00\x08\x01" + (4).to_bytes(4, "big") + b"\x01\x02\x03\x04")
    (tmp_path / "california_housing").mkdir()
    (tmp_path / "california_housing" / "cal_housing.data").write_text("1,2,3\n")
    for data in ("mnist", "housing"):
        datamodule = instantiate(compose_train(f"data={data}", f"paths.data_dir={tmp_path}").data)
        with pytest.raises(DataError, match="corrupt"):
            datamodule.setup()


def test_batch_loader_serves_every_sample_once_per_epoch_in_a_seeded_order():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    loader = BatchLoader(x, y, batch_size=4, shuffle=True, seed=3)
    assert len(loader) == 3
    loader.sampler.set_epoch(0)
    first = torch.cat([b for _, b in loader])
    loader.sampler.set_epoch(0)
    assert torch.equal(first, torch.cat([b for _, b in loader]))  # a resumed epoch replays
    assert sorted(first.tolist()) == list(range(10))
    loader.sampler.set_epoch(1)
    assert not torch.equal(first, torch.cat([b for _, b in loader]))
    shards = [BatchLoader(x, y, 2, shuffle=True, seed=3, rank=r, world_size=3) for r in range(3)]
    served = [torch.cat([b for _, b in shard]) for shard in shards]
    assert {len(s) for s in served} == {4}  # padded to equal length per rank
    assert set(torch.cat(served).tolist()) == set(range(10))


def test_loader_batches_are_views_of_the_in_memory_tensors():
    x = torch.randn(100, 8)
    loader = BatchLoader(x, torch.zeros(100), batch_size=32)
    batch, _ = next(iter(loader))
    assert batch.data_ptr() == x.data_ptr()  # unshuffled eval batches are slices, no copy
    assert np.allclose(torch.cat([b for b, _ in loader]).numpy(), x.numpy())


def test_idx_parser_rejects_files_that_are_not_idx(tmp_path: Path):
    from trainlab.data.mnist import parse_idx

    with pytest.raises(DataError, match="not an MNIST IDX file"):
        parse_idx(b"garbage", tmp_path / "x")
