"""The lessons as experiment configs: each composes and trains a few epochs on both engines.

The runs go through the Python API in-process (``trainlab.compose``, then
``trainlab.train``), with 2 epochs and a few batches, so all lessons on both engines
fit the suite's time budget; MNIST and housing use the real files when
``TRAINLAB_DATA_DIR`` has them, else the small generated files (``tests/helpers.py``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import trainlab
from trainlab.config import check_config
from trainlab.engines.keras.config import check_keras_config

from .helpers import ENGINES, EXPERIMENTS, lesson_data_overrides

FEW_EPOCHS = [
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=10",
    "trainer.limit_val_batches=3",
    "trainer.limit_test_batches=3",
    "trainer.num_sanity_val_steps=0",
]
EXPECTED_METRICS = {
    "multiclass": {"val/loss", "val/acc", "test/loss", "test/acc"},
    "regression": {"val/loss", "val/mae", "val/rmse", "test/loss", "test/mae", "test/rmse"},
}
LESSON_TASKS = {"multiply_by_3": "regression", "addition": "regression", "housing": "regression"}


def _task(experiment: str) -> str:
    return next((t for prefix, t in LESSON_TASKS.items() if experiment.startswith(prefix)), "multiclass")


def test_every_lesson_has_an_experiment() -> None:
    lessons = {
        "multiply_by_3",
        "addition",
        "housing_minmax",
        "housing_unscaled",
        "housing_earlystop",
        "mnist_binary_6x6",
        "mnist_mlp256",
        "digits_sigmoid",
        "digits_tanh",
        "digits_compact",
        "digits_dropout",
    }
    assert lessons <= set(EXPERIMENTS)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_passes_the_checks(experiment, engine, compose_train) -> None:
    cfg = compose_train(f"experiment={experiment}", f"engine={engine}")
    check_config(cfg)
    check_keras_config(cfg)  # every lesson must be buildable by Keras too
    assert cfg.engine._target_.endswith({"lightning": "LightningEngine", "keras": "KerasEngine"}[engine])


def test_lessons_keep_their_own_settings(compose_train) -> None:
    mnist = compose_train("experiment=mnist_mlp256")
    assert (mnist.optimizer.lr, mnist.data.batch_size, mnist.trainer.max_epochs) == (0.2, 64, 10)
    assert list(mnist.model.hidden) == [256, 256] and mnist.data.val_size == 10_000
    binary = compose_train("experiment=mnist_binary_6x6")
    assert (binary.data.image_size, list(binary.data.classes), binary.data.one_hot) == (6, [0, 1], True)
    stop = compose_train("experiment=housing_earlystop")
    assert (stop.callbacks.early_stopping.patience, stop.optimizer.lr, stop.trainer.max_epochs) == (
        3,
        1e-3,
        50,
    )
    assert compose_train("experiment=multiply_by_3").data._target_.endswith("MultiplyDataModule")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_trains_a_few_epochs(experiment, engine, data_dir, tmp_path: Path):
    cfg = trainlab.compose(
        f"experiment={experiment}",
        f"engine={engine}",
        *FEW_EPOCHS,
        *lesson_data_overrides(experiment, data_dir),
    )
    result = trainlab.train(cfg, run_dir=tmp_path / "run")
    assert result.run_dir == (tmp_path / "run").resolve()
    assert set(result.metrics) == EXPECTED_METRICS[_task(experiment)]
    assert all(math.isfinite(value) for value in result.metrics.values())
    assert json.loads((result.run_dir / "metrics.json").read_text()) == pytest.approx(result.metrics)
    assert [row["epoch"] for row in result.history] == [1, 2]
    if cfg.get("predict"):  # the lesson's predictions, as train.log records them
        log = (result.run_dir / "train.log").read_text()
        line = next(line for line in log.splitlines() if "predictions: " in line)
        assert all(str([float(v) for v in row]) in line for row in cfg.predict), line
