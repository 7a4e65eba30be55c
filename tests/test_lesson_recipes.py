"""Each lesson config is its notebook cell's recipe, on both engines.

The expected values below are read off the notebooks in ``../shared/seeds/`` (the file
and cell are named in each lesson's config): the split as scikit-learn's
``train_test_split`` makes it, the scaling, the network and its initial weights, the
optimizer with its library's defaults, the batch size, epochs, early stopping and seed.
The split tests call ``train_test_split`` exactly as the notebooks do and compare the
samples in each part; the init tests draw large layers and compare their distribution
with Glorot's and PyTorch's bounds; the short runs train each lesson two epochs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import trainlab
from trainlab.config import check_config
from trainlab.data.base import DataSpec
from trainlab.data.housing import features_from_statlib
from trainlab.data.layouts import layout_of
from trainlab.data.splitting import split_sizes, three_way_split
from trainlab.engines.keras.config import check_keras_config
from trainlab.errors import TrainlabError
from trainlab.models import MLP
from trainlab.models.mlp import glorot_bound, torch_bound

from .helpers import ENGINES, lesson_data_overrides

SGD = "torch.optim.SGD"
NO_STOP = None
# The 004 notebook's split: train_test_split(test_size=0.3, random_state=20231110, stratify=y).
DIGITS_004 = {
    "val_fraction": None,
    "test_fraction": 0.3,
    "split_seed": 20231110,
    "stratify": True,
    "pixel_scale": 255,
}
HOUSING_001 = {"val_fraction": None, "test_fraction": 0.2, "split_seed": 0}

#: lesson -> (data, model, (lr, momentum), batch size, epochs, early-stopping patience, seed)
RECIPES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[float, float], Any, int, Any, int]] = {
    "digits_dropout": (
        {**DIGITS_004},
        {"hidden": [24, 24], "activation": "tanh", "dropout": 0.25, "init": "torch"},
        (0.01, 0.9),
        20,
        800,
        NO_STOP,
        42,
    ),
    "digits_sigmoid": (
        {**DIGITS_004},
        {"hidden": [52, 52], "activation": "sigmoid", "dropout": 0.0, "init": "torch"},
        (0.3, 0.9),
        "full",
        5000,
        NO_STOP,
        42,
    ),
    "digits_tanh": (
        {**DIGITS_004},
        {"hidden": [52, 52], "activation": "tanh", "dropout": 0.0, "init": "torch"},
        (0.05, 0.9),
        "full",
        5000,
        NO_STOP,
        42,
    ),
    "digits_compact": (
        {**DIGITS_004},
        {"hidden": [12, 12], "activation": "sigmoid", "dropout": 0.0, "init": "torch"},
        (0.3, 0.9),
        20,
        800,
        NO_STOP,
        42,
    ),
    "housing_earlystop": (
        {"val_fraction": 0.1875, "test_fraction": 0.25, "split_seed": 42, "scaler": "standard"},
        {"hidden": [30], "activation": "relu", "init": "keras", "output_activation": None},
        (1e-3, 0.0),
        32,
        50,
        3,
        42,
    ),
    "housing_unscaled": (
        {**HOUSING_001, "scaler": "none"},
        {"hidden": [16], "activation": "relu", "init": "keras", "output_activation": "relu"},
        (0.01, 0.0),
        32,
        10,
        NO_STOP,
        1,
    ),
    "housing_minmax": (
        {**HOUSING_001, "scaler": "minmax"},
        {"hidden": [16, 12], "activation": "relu", "init": "keras", "output_activation": "relu"},
        (0.01, 0.0),
        32,
        20,
        NO_STOP,
        1,
    ),
    "mnist_binary_6x6": (
        {
            "val_size": None,
            "classes": [0, 1],
            "image_size": 6,
            "resize_method": "bilinear",
            "one_hot": True,
        },
        {"hidden": [], "init": "keras", "output_activation": None},
        (0.1, 0.0),
        32,
        1,
        NO_STOP,
        9,
    ),
    "mnist_mlp256": (
        {"val_size": 10_000, "normalize": False},
        {"hidden": [256, 256], "activation": "relu", "init": "keras", "output_activation": None},
        (0.2, 0.0),
        64,
        10,
        NO_STOP,
        42,
    ),
    "multiply_by_3": (
        {"inputs": [1, 3, 2, 10, 4, 7, 8], "factor": 3.0, "scaler": "none"},
        {"hidden": [], "activation": "linear", "init": "keras", "output_activation": None},
        (0.01, 0.0),
        32,
        100,
        NO_STOP,
        1,
    ),
    "addition": (
        {"num_pairs": 50, "low": 1, "high": 9, "scaler": "minmax"},
        {"hidden": [3], "activation": "linear", "init": "keras", "output_activation": None},
        (0.01, 0.0),
        32,
        200,
        NO_STOP,
        1,
    ),
}
#: split sizes (train, val, test) as the notebooks print them; val = test where there is none.
SPLIT_SIZES = {
    "digits_dropout": (1257, 540, 540),
    "housing_earlystop": (11_610, 3_870, 5_160),
    "housing_unscaled": (16_512, 4_128, 4_128),
    "mnist_binary_6x6": (60_000, 10_000, 10_000),  # before keeping the 0s and 1s
    "mnist_mlp256": (50_000, 10_000, 10_000),
}


@pytest.mark.parametrize("lesson", sorted(RECIPES))
def test_lesson_config_is_the_notebook_recipe(lesson, compose_train) -> None:
    data, model, (lr, momentum), batch, epochs, patience, seed = RECIPES[lesson]
    cfg = compose_train(f"experiment={lesson}")
    check_config(cfg)
    check_keras_config(cfg)
    for key, value in data.items():
        assert cfg.data[key] == value, key
    for key, value in model.items():
        assert cfg.model[key] == value, key
    assert cfg.optimizer._target_ == SGD
    assert (cfg.optimizer.lr, cfg.optimizer.momentum, cfg.optimizer.nesterov) == (lr, momentum, False)
    assert cfg.data.batch_size == batch
    assert cfg.trainer.max_epochs == epochs
    stopping = cfg.callbacks.get("early_stopping")
    if patience is NO_STOP:
        assert stopping is None
    else:
        assert (stopping.monitor, stopping.patience, stopping.min_delta) == ("val/loss", patience, 0.0)
    assert cfg.seed == seed
    header = (Path(__file__).parents[1] / "conf" / "experiment" / f"{lesson}.yaml").read_text()
    assert "seeds/00" in header.split("defaults:")[0]  # names its notebook


@pytest.mark.parametrize("lesson", sorted(SPLIT_SIZES))
def test_preflight_knows_the_notebook_split_sizes(lesson, compose_train) -> None:
    layout = layout_of(dict(compose_train(f"experiment={lesson}").data))
    assert layout is not None and layout.splits is not None
    assert layout.splits.sizes == SPLIT_SIZES[lesson]


def test_the_003_split_is_train_test_split_twice_with_random_state_42() -> None:
    n = 20_640
    indices = np.arange(n)
    full, test = train_test_split(indices, random_state=42)
    train, val = train_test_split(full, random_state=42)
    ours = three_way_split(n, 0.1875, 0.25, 42)
    for mine, theirs in zip(ours, (train, val, test), strict=True):
        np.testing.assert_array_equal(mine, np.sort(theirs))
    assert split_sizes(n, 0.1875, 0.25) == (11_610, 3_870, 5_160)


def test_the_004_digits_split_and_scaling_are_the_notebooks(compose_train) -> None:
    digits = load_digits()
    x, y = digits.data, digits.target
    rows = np.arange(len(y))
    x_tn = (x * 1.0 / 255).astype(np.float32)  # the notebook's X_tn (float32 on the device)
    x_train, x_val, y_train, y_val, i_train, i_val = train_test_split(
        x_tn, y, rows, test_size=0.3, random_state=20231110, stratify=y
    )
    datamodule = instantiate(compose_train("experiment=digits_dropout").data)
    datamodule.setup()
    splits = datamodule.splits
    for (features, labels), (nx, ny, ni) in (
        (splits.train, (x_train, y_train, i_train)),
        (splits.test, (x_val, y_val, i_val)),
        (splits.val, (x_val, y_val, i_val)),  # no validation set: validation is the 30 %
    ):
        order = np.argsort(ni)
        np.testing.assert_array_equal(labels.numpy(), ny[order])
        np.testing.assert_allclose(features.numpy(), nx[order], rtol=1e-7, atol=0)
    assert (len(splits.train[1]), len(splits.test[1])) == (1257, 540)
    assert float(splits.train[0].max()) == pytest.approx(16 / 255)


@pytest.mark.parametrize("lesson", ["housing_unscaled", "housing_minmax", "housing_earlystop"])
def test_the_housing_splits_and_scalers_are_the_notebooks(lesson, compose_train, data_dir) -> None:
    """The notebooks' own calls on the same file: split, then the scaler fitted on train."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    cfg = compose_train(f"experiment={lesson}", *lesson_data_overrides(lesson, data_dir))
    table = np.loadtxt(data_dir.path / "california_housing" / "cal_housing.data", delimiter=",", ndmin=2)
    x, y = features_from_statlib(table)
    rows = np.arange(len(y))
    if lesson == "housing_earlystop":
        x_full, x_test, _, _, i_full, i_test = train_test_split(x, y, rows, random_state=42)
        x_train, x_val, _, _, i_train, i_val = train_test_split(
            x_full, y[i_full], i_full, random_state=42
        )
        scaler = StandardScaler().fit(x_train)
    else:
        x_train, x_test, _, _, i_train, i_test = train_test_split(
            x, y, rows, test_size=0.2, random_state=0
        )
        x_val, i_val = x_test, i_test
        scaler = MinMaxScaler().fit(x_train) if lesson == "housing_minmax" else None
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    for (features, targets), (nx, ni) in zip(
        (datamodule.splits.train, datamodule.splits.val, datamodule.splits.test),
        ((x_train, i_train), (x_val, i_val), (x_test, i_test)),
        strict=True,
    ):
        order = np.argsort(ni)
        expected = nx[order] if scaler is None else scaler.transform(nx[order])
        np.testing.assert_allclose(features.numpy(), expected.astype(np.float32), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(targets.numpy()[:, 0], y[ni[order]].astype(np.float32))
    if data_dir.real:
        sizes = tuple(len(pair[1]) for pair in (datamodule.splits.train, datamodule.splits.val))
        assert sizes == SPLIT_SIZES.get(lesson, SPLIT_SIZES["housing_unscaled"])[:2]


def test_full_batch_is_one_step_per_epoch_on_the_whole_training_split(compose_train) -> None:
    datamodule = instantiate(compose_train("experiment=digits_sigmoid").data)
    datamodule.setup()
    loader = datamodule.train_dataloader()
    assert datamodule.batch_size == 1257 and len(loader) == 1
    ((x, y),) = list(loader)
    assert torch.equal(x, datamodule.splits.train[0]) and torch.equal(y, datamodule.splits.train[1])


# --- model.init, the same on both engines --------------------------------------------------

FAN_IN, FAN_OUT = 400, 300
SPEC = DataSpec((FAN_IN,), FAN_OUT, "regression")


def _torch_weights(init: str) -> tuple[np.ndarray, np.ndarray]:
    torch.manual_seed(0)
    layer = MLP(hidden=[], init=init).build_torch(SPEC).output
    return layer.weight.detach().numpy().T, layer.bias.detach().numpy()  # kernel as (in, out)


def _keras_weights(init: str) -> tuple[np.ndarray, np.ndarray]:
    from trainlab.keras_backend import keras

    keras.utils.set_random_seed(0)
    kernel, bias = MLP(hidden=[], init=init).build_keras(SPEC).get_layer("output").get_weights()
    return np.asarray(kernel), np.asarray(bias)


BUILDERS = {"lightning": _torch_weights, "keras": _keras_weights}


def _assert_uniform(values: np.ndarray, bound: float) -> None:
    """Inside [-bound, bound], reaching near it, spread as a uniform (std bound/sqrt(3))."""
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.abs(values).max() > 0.98 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert abs(values.mean()) < 0.05 * bound


@pytest.mark.parametrize("engine", ENGINES)
def test_keras_init_is_glorot_uniform_with_zero_biases(engine) -> None:
    kernel, bias = BUILDERS[engine]("keras")
    assert kernel.shape == (FAN_IN, FAN_OUT)
    _assert_uniform(kernel, glorot_bound(FAN_IN, FAN_OUT))
    assert glorot_bound(FAN_IN, FAN_OUT) == pytest.approx(math.sqrt(6 / 700))
    assert not bias.any()


@pytest.mark.parametrize("engine", ENGINES)
def test_torch_init_is_nn_linears_default(engine) -> None:
    kernel, bias = BUILDERS[engine]("torch")
    bound = torch_bound(FAN_IN)
    assert bound == pytest.approx(1 / 20)
    _assert_uniform(kernel, bound)
    assert np.abs(bias).max() <= bound and bias.std() > 0.4 * bound  # U(-b, b), not zeros


def test_hidden_layers_follow_init_and_output_activation_on_both_engines() -> None:
    from trainlab.keras_backend import keras

    spec = DataSpec((8,), 1, "regression")
    description = MLP(hidden=[16, 12], init="keras", output_activation="relu")
    torch.manual_seed(0)
    network = description.build_torch(spec)
    assert [name for name, _ in network.named_children()][-1] == "output_relu"
    assert not network.dense_1.bias.detach().any()
    keras.utils.set_random_seed(0)
    model = description.build_keras(spec)
    assert model.get_layer("output").activation is keras.activations.relu
    assert not np.asarray(model.get_layer("dense_2").get_weights()[1]).any()
    # The same weights in both: the same outputs, never below zero.
    for name in description.layer_names():
        kernel, bias = model.get_layer(name).get_weights()
        getattr(network, name).weight.data = torch.from_numpy(np.asarray(kernel).T.copy())
        getattr(network, name).bias.data = torch.from_numpy(np.asarray(bias).copy())
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    torch_out = network(torch.from_numpy(x)).detach().numpy()
    keras_out = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(torch_out, keras_out, rtol=1e-5, atol=1e-6)
    assert torch_out.min() >= 0


# --- bad input: one line each ----------------------------------------------------------------

BAD = [
    (
        "experiment=digits_dropout model.init=xavier",
        "model.init='xavier' is invalid: expected one of keras, torch",
    ),
    (
        "experiment=housing_earlystop data.val_fraction=0.5 data.test_fraction=0.5",
        "data.val_fraction + data.test_fraction = 1 leaves no training data",
    ),
    (
        "experiment=digits_dropout data.test_fraction=0.004",
        "data.test_fraction=0.004 leaves 8 samples in the test split of digits; a stratified split "
        "needs at least 10 (one per class)",
    ),
    ("experiment=digits_dropout data.test_fraction=null", "data.test_fraction=null is invalid"),
    ("experiment=digits_sigmoid data.batch_size=all", "data.batch_size='all' is invalid"),
    ("experiment=digits_dropout data.pixel_scale=-255", "data.pixel_scale=-255 is invalid"),
    (
        "experiment=digits_dropout model.output_activation=relu",
        "model.output_activation=relu is for regression",
    ),
    (
        "experiment=housing_minmax model.output_activation=nope",
        "model.output_activation='nope' is invalid",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[b[1].split(" ")[0] for b in BAD])
def test_bad_recipe_options_are_one_line(overrides, message, tmp_path: Path) -> None:
    with pytest.raises(TrainlabError) as refused:
        trainlab.train(*overrides.split(), run_dir=tmp_path / "run")
    text = str(refused.value)
    assert text.startswith("trainlab: error: ") and "\n" not in text
    assert message in text, text
    assert not (tmp_path / "run").exists()


def test_an_unknown_init_is_one_line_from_the_cli(cli_train) -> None:
    result = cli_train("experiment=multiply_by_3", "model.init=glorot", timeout=120)
    assert result.returncode == 2
    assert result.error_lines() == [
        "trainlab: error: model.init='glorot' is invalid: expected one of keras, torch"
    ]


# --- every lesson trains, shortened, on both engines ------------------------------------------

SHORT = [
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=20",
    "trainer.limit_val_batches=3",
    "trainer.limit_test_batches=3",
    "trainer.num_sanity_val_steps=0",
    "figures=false",
]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("lesson", sorted(RECIPES))
def test_lesson_trains_shortened(lesson, engine, data_dir, tmp_path: Path) -> None:
    cfg = trainlab.compose(
        f"experiment={lesson}", f"engine={engine}", *SHORT, *lesson_data_overrides(lesson, data_dir)
    )
    result = trainlab.train(cfg, run_dir=tmp_path / "run")
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert all(math.isfinite(value) for value in result.metrics.values())
    if RECIPES[lesson][0].get("val_fraction", 0) is None:  # validation is the test split
        assert result.metrics["val/loss"] == pytest.approx(result.metrics["test/loss"], rel=1e-5)
