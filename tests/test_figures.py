"""Every run draws its figures once, as PNG files and as TensorBoard images, on both engines.

They are drawn to be read where people look at them: a TensorBoard image card (about
560 px wide) and the PNG file at 1:1 show the same pixels, with no text under 11 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

import trainlab
from trainlab.figures.canvas import DPI, WIDTH_PX, render

from .helpers import ENGINES, lesson_data_overrides

CARD_PX = 560  # about the width TensorBoard shows an image at
MIN_TEXT_PX = 11

SHORT = ["trainer.max_epochs=2", "trainer.num_sanity_val_steps=0"]
FIGURES = {
    "multiclass": {"learning_curves", "confusion_matrix", "misclassified"},
    "binary": {"learning_curves", "confusion_matrix", "misclassified"},
    "regression": {"learning_curves", "predicted_vs_true", "residuals"},
}
EXPERIMENT_OF_TASK = {
    "multiclass": "digits_tanh",
    "binary": "mnist_binary_6x6",
    "regression": "multiply_by_3",
}


def _train(run_dir: Path, *overrides: str) -> dict[str, float]:
    return trainlab.train(*SHORT, *overrides, run_dir=run_dir).metrics


def _tensorboard_images(run_dir: Path) -> dict[str, list]:
    events = EventAccumulator(str(run_dir), size_guidance={IMAGES: 0})
    events.Reload()
    return {tag: events.Images(tag) for tag in events.Tags()[IMAGES]}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("task", sorted(FIGURES))
def test_each_task_draws_its_figures_as_png_and_in_tensorboard(task, engine, data_dir, tmp_path: Path):
    experiment = EXPERIMENT_OF_TASK[task]
    run_dir = tmp_path / "run"
    _train(
        run_dir,
        f"experiment={experiment}",
        f"engine={engine}",
        "trainer.limit_train_batches=20",
        *lesson_data_overrides(experiment, data_dir),
    )
    pngs = {path.stem: path for path in (run_dir / "figures").glob("*.png")}
    assert set(pngs) == FIGURES[task]
    for path in pngs.values():
        with Image.open(path) as image:
            assert image.size[0] == WIDTH_PX  # a card's width: shown unscaled
            image.verify()
            assert image.format == "PNG" and min(image.size) > 50
    images = _tensorboard_images(run_dir)
    assert set(images) == {f"figures/{name}" for name in FIGURES[task]}
    for name, events in images.items():
        assert len(events) == 1, f"{name} drawn more than once"  # at the end, never per step
        with Image.open(pngs[name.split("/")[1]]) as image:
            assert (events[0].width, events[0].height) == image.size


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_figures_false_draws_none(engine, tmp_path: Path):
    run_dir = tmp_path / "run"
    _train(run_dir, f"engine={engine}", "figures=false")
    assert not (run_dir / "figures").exists()
    assert _tensorboard_images(run_dir) == {}
    assert (run_dir / "metrics.json").is_file()


@pytest.mark.slow
def test_learning_curves_follow_every_epoch(tmp_path: Path):
    run_dir = tmp_path / "run"
    _train(run_dir, "trainer.max_epochs=3")
    lines = (run_dir / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,train/acc,train/loss,val/acc,val/loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]


@pytest.mark.slow
def test_misclassified_samples_are_the_test_errors(tmp_path: Path):
    """A barely trained model errs; the grid's title counts the test split's errors."""
    run_dir = tmp_path / "run"
    metrics = _train(
        run_dir,
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "optimizer.lr=1e-4",
    )
    from trainlab.figures.run import MAX_MISCLASSIFIED

    test_size = 360  # digits: 20% of 1,797, stratified
    errors = round((1 - metrics["test/acc"]) * test_size)
    assert errors > MAX_MISCLASSIFIED  # the grid shows the most confident ones only
    with Image.open(run_dir / "figures" / "misclassified.png") as image:
        assert image.size[0] > 400


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_every_run_saves_its_layer_table(engine, tmp_path: Path):
    run_dir = tmp_path / "run"
    _train(run_dir, f"engine={engine}", "model=mlp_dropout", "trainer.max_epochs=1")
    table = (run_dir / "model_summary.txt").read_text()
    for name, shape, params in (("dense_1", "(None, 24)", "1,560"), ("output", "(None, 10)", "250")):
        line = next(line for line in table.splitlines() if line.startswith(name))
        assert shape in line and line.rstrip().endswith(params)
    assert table.rstrip().endswith("total parameters: 2,410")


def test_a_model_without_test_errors_still_gets_its_figures(tmp_path: Path):
    """A perfect classifier (common on the toy lessons) has an empty misclassified grid."""
    import torch

    from trainlab.data.base import DataSpec
    from trainlab.figures import TestOutputs, draw_run_figures

    labels = torch.arange(20) % 10
    perfect = TestOutputs(torch.rand(20, 64), labels, 10.0 * torch.nn.functional.one_hot(labels, 10))
    spec = DataSpec((64,), 10, "multiclass", image_shape=(8, 8))
    epochs = [{"epoch": 0, "train/loss": 0.5, "val/loss": 0.6, "train/acc": 0.9, "val/acc": 0.8}]
    paths = draw_run_figures(tmp_path, spec, epochs, perfect)
    assert {path.stem for path in paths} == FIGURES["multiclass"]
    for path in paths:
        with Image.open(path) as image:
            image.verify()


def _digits_like_outputs(count: int = 90) -> tuple[Any, Any]:
    """A multiclass test split of 8x8 images and the outputs of a model that errs often."""
    import torch

    from trainlab.data.base import DataSpec
    from trainlab.figures import TestOutputs

    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(count) % 10
    outputs = torch.randn(count, 10, generator=generator) + 2 * torch.nn.functional.one_hot(labels, 10)
    test = TestOutputs(16 * torch.rand(count, 64, generator=generator), labels, outputs)
    return test, DataSpec((64,), 10, "multiclass", image_shape=(8, 8))


def _epochs(losses: list[float], metric: str = "acc") -> list[dict[str, float]]:
    return [
        {
            "epoch": i,
            "train/loss": loss,
            "val/loss": 0.9 * loss,
            f"train/{metric}": 0.5,
            f"val/{metric}": 0.6,
        }
        for i, loss in enumerate(losses)
    ]


def _every_figure() -> dict[str, Any]:
    """Each figure a run can draw, from small made-up data."""
    from trainlab.figures.classification import confusion_heatmap, misclassified_grid
    from trainlab.figures.curves import learning_curves
    from trainlab.figures.regression import predicted_vs_true, residuals

    rng = np.random.default_rng(0)
    true = rng.normal(size=300)
    predicted = true + 0.3 * rng.normal(size=300)
    matrix = rng.random((10, 10)) + 30 * np.eye(10)
    labels = rng.integers(0, 10, 32)
    return {
        "learning_curves": learning_curves(_epochs([2.3, 0.8, 0.6]), ["loss", "mae", "rmse"]),
        "confusion_matrix": confusion_heatmap(matrix / matrix.sum(1, keepdims=True), list("0123456789")),
        "confusion_matrix_binary": confusion_heatmap(np.array([[0.9, 0.1], [0.2, 0.8]]), ["0", "1"]),
        "misclassified": misclassified_grid(
            rng.random((32, 8, 8)), labels, (labels + 1) % 10, rng.random(32), 40, 360
        ),
        "misclassified_mnist": misclassified_grid(
            rng.random((7, 28, 28)), labels[:7], labels[:7], rng.random(7), 7, 100
        ),
        "misclassified_none": misclassified_grid(
            np.zeros((0, 8, 8)), labels[:0], labels[:0], rng.random(0), 0, 360
        ),
        "predicted_vs_true": predicted_vs_true(true, predicted),
        "residuals": residuals(true, predicted),
    }


def test_run_figures_are_a_cards_width_at_the_designed_dpi(tmp_path: Path):
    """Every PNG is WIDTH_PX wide at DPI: TensorBoard shows it unscaled, as the file is."""
    import torch

    from trainlab.data.base import DataSpec
    from trainlab.figures import TestOutputs, draw_run_figures

    test, spec = _digits_like_outputs()
    paths = draw_run_figures(tmp_path / "cls", spec, _epochs([2.2, 0.6, 0.3]), test)
    values = torch.linspace(0, 5, 200).unsqueeze(1)
    regression = TestOutputs(torch.rand(200, 8), values, values + 0.1 * torch.randn(200, 1))
    paths += draw_run_figures(
        tmp_path / "reg", DataSpec((8,), 1, "regression"), _epochs([1.2, 0.7, 0.6], "mae"), regression
    )
    assert len(paths) == 6
    for path in paths:
        with Image.open(path) as image:
            assert image.size[0] == WIDTH_PX == CARD_PX, path.name
            assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.01), path.name  # per metre
            assert 50 < image.size[1] <= 2 * WIDTH_PX, path.name


def test_every_text_is_at_least_11_px_on_a_tensorboard_card():
    """Tick labels, cell numbers, titles and per-image labels, as shown at CARD_PX wide."""
    from matplotlib.text import Text

    for name, figure in _every_figure().items():
        pixels = render(figure)  # creates the ticks and their labels
        shown = min(1.0, CARD_PX / pixels.shape[1])  # TensorBoard only shrinks
        texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert texts, name
        for text in texts:
            height = float(text.get_fontsize()) * figure.dpi / 72 * shown
            assert height >= MIN_TEXT_PX, f"{name}: {text.get_text()!r} is {height:.1f} px"


def _labelled_ticks(ax: Any, axis: str = "y") -> list[str]:
    """The tick labels in view after a draw (the labels the reader sees)."""
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    index = 1 if axis == "y" else 0
    return [t.get_text() for t in labels if low <= t.get_position()[index] <= high and t.get_text()]


@pytest.mark.parametrize(
    "losses",
    [
        [2.6, 0.77, 0.61],  # housing, 3 epochs: within a decade
        [0.58, 0.56, 0.55, 0.549],  # a plateau
        [0.9, 0.45, 0.2, 0.09, 0.05],  # a decade or more: one power of ten
        list(np.geomspace(3, 1e-4, 40)),  # several decades
    ],
)
def test_a_log_loss_axis_labels_at_least_two_ticks(losses: list[float]):
    from trainlab.figures.curves import learning_curves

    figure = learning_curves(_epochs(losses), ["loss", "acc"])
    render(figure)
    loss_ax = figure.axes[0]
    assert loss_ax.get_yscale() == "log"
    labels = _labelled_ticks(loss_ax)
    assert len(labels) >= 2, labels
    assert all("$" not in label for label in labels)  # plain numbers, no mathtext


@pytest.mark.parametrize(("epochs", "expected"), [(1, [1]), (3, [1, 2, 3]), (7, None), (60, None)])
def test_the_epoch_axis_has_whole_numbers_only(epochs: int, expected: list[int] | None):
    """No epoch 1.5: housing's 3-epoch run shows 1, 2, 3."""
    from trainlab.figures.curves import learning_curves

    figure = learning_curves(_epochs(list(np.geomspace(1.0, 0.2, epochs))), ["loss", "mae", "rmse"])
    render(figure)
    bottom = figure.axes[-1]
    low, high = bottom.get_xlim()
    ticks = [t for t in bottom.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert expected is None or ticks == expected
    assert bottom.get_xlabel() == "epoch"
