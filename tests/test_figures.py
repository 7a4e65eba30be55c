"""Every run draws its figures once, as PNG files and as TensorBoard images, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

import trainlab

from .helpers import ENGINES, lesson_data_overrides

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
