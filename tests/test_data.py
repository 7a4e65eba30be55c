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


DATA_CONFIGS = sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "data").glob("*.yaml"))


@pytest.mark.parametrize("data", DATA_CONFIGS)
def test_each_datamodule_loads_the_spec_its_declaration_promises(data, compose_train, data_dir):
    """The pre-flight's layout and the loaded DataModule say the same: one declaration."""
    from omegaconf import OmegaConf

    from trainlab.data.layouts import DECLARED, layout_of

    from .helpers import small_cifar10_root

    located = {
        "housing": data_dir.housing[1:],
        "mnist": data_dir.mnist[1:],
        "mnist_binary_6x6": data_dir.mnist[1:],
        "cifar10": [f"paths.data_dir={small_cifar10_root()}", "data.verify=false", "data.val_size=50"],
    }.get(data, [])
    cfg = compose_train(f"data={data}", *located)
    declared = DECLARED[cfg.data._target_]
    layout = layout_of(OmegaConf.to_container(cfg.data, resolve=True))
    datamodule = _setup(compose_train, f"data={data}", *located)
    assert type(datamodule).declared is declared and layout is not None
    assert datamodule.spec == layout.spec
    assert tuple(datamodule.splits.train[0].shape[1:]) == layout.spec.input_shape


def test_a_declaration_naming_another_class_is_refused_at_import():
    from trainlab.data import layouts
    from trainlab.data.base import TensorDataModule

    with pytest.raises(TypeError, match=r"is declared as trainlab\.data\.digits\.DigitsDataModule"):

        class Copied(TensorDataModule):  # pre-flight would check it as the digits
            declared = layouts.DIGITS


def test_files_of_another_shape_than_declared_are_one_line(compose_train, tmp_path):
    from .helpers import write_idx

    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for prefix, count in (("train", 30), ("t10k", 10)):
        write_idx(
            tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (count, 20, 20))
        )
        write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, count))
    cfg = compose_train(
        "data=mnist", f"paths.data_dir={tmp_path}", "data.verify=false", "data.val_size=10"
    )
    with pytest.raises(DataError, match=r"read samples of shape \(20, 20\), not \(28, 28\)"):
        instantiate(cfg.data).setup()


@pytest.mark.parametrize("steps_per_call", [1, 3])
def test_a_restored_loader_continues_its_epoch_at_the_batch_after_the_last_step(steps_per_call):
    """The position is the optimizer steps since the epoch began, even inside a group."""
    x, y = torch.arange(20.0).unsqueeze(1), torch.arange(20)
    steps = [7]  # the run's optimizer steps so far (Lightning's global_step)

    def loader() -> BatchLoader:
        made = BatchLoader(x, y, 2, shuffle=True, seed=5, steps_taken=lambda: steps[0])
        made.steps_per_call = steps_per_call
        made.sampler.set_epoch(2)
        return made

    def batches(items) -> list[int]:
        return [int(b[1][0]) for item in items for b in (item if steps_per_call > 1 else [item])]

    whole = batches(loader())
    first = loader()
    assert first.state_dict() == {"epoch": 2, "position": 0}  # nothing served yet
    iterator = iter(first)
    next(iterator)
    steps[0] += 4 if steps_per_call > 1 else 1  # a group of 3, then 1 step of the next
    state = first.state_dict()
    assert state == {"epoch": 2, "position": state["position"]}
    assert state["position"] == (4 if steps_per_call > 1 else 1)
    again = loader()
    again.load_state_dict(state)
    assert again.state_dict() == state  # restored and not yet continued: the same place
    assert batches(again) == whole[state["position"] :]
    other_epoch = loader()
    other_epoch.load_state_dict({"epoch": 1, "position": 4})
    assert batches(other_epoch) == whole  # a position of another epoch is not applied


def test_the_statlib_reader_is_public_and_refuses_another_table(tmp_path):
    from trainlab.data.housing import read_statlib

    from .helpers import write_small_housing

    write_small_housing(tmp_path)
    x, y = read_statlib(tmp_path / "cal_housing.data", verify=False)
    assert x.shape == (400, 8) and y.shape == (400,)
    (tmp_path / "other.data").write_text("1,2,3\n")
    with pytest.raises(
        DataError, match=f"3 columns, not 9; put the StatLib file cal_housing.data in {tmp_path}"
    ):
        read_statlib(tmp_path / "other.data", verify=False)
