"""engine=keras: a Keras run looks like a Lightning run, reloads, and refuses what it cannot build."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import trainlab
from trainlab.errors import ConfigError, NonFiniteLossError

from .helpers import ENGINES, Result, run_script

DIGITS_KERAS = ["engine=keras", "trainer.max_epochs=2"]


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    result = run_script("train.py", DIGITS_KERAS, tmp_path_factory.mktemp("keras") / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _events(run_dir: Path) -> EventAccumulator:
    """The run's TensorBoard events as TensorBoard reads them: all event files of the directory."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return events


@pytest.mark.slow
def test_keras_run_directory_is_laid_out_as_a_lightning_run(keras_run: Result) -> None:
    run = keras_run.run_dir
    assert (run / ".hydra" / "config.yaml").is_file()
    assert (run / "checkpoints" / "best.keras").is_file()
    assert (run / "checkpoints" / "last.keras").is_file()
    assert set(keras_run.metrics) == {"val/loss", "val/acc", "test/loss", "test/acc"}
    assert keras_run.metrics["test/acc"] > 0.5


@pytest.mark.slow
def test_keras_run_logs_lightnings_tensorboard_tags_and_hparams(keras_run: Result) -> None:
    events = _events(keras_run.run_dir)
    curves = {"train/loss", "train/acc", "train/lr", "val/loss", "val/acc"}
    assert set(events.Tags()["scalars"]) == curves
    assert [event.step for event in events.Scalars("val/loss")] == [1, 2]  # stepped by epoch
    summary = _events(keras_run.run_dir / "summary")
    assert set(summary.Tags()["scalars"]) == set(keras_run.metrics)
    hparams = summary.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams
    assert "optimizer.lr" in hparams["_hparams_/session_start_info"].decode(errors="ignore")


@pytest.mark.slow
def test_eval_of_a_keras_checkpoint_recomputes_the_test_metrics(keras_run: Result, tmp_path) -> None:
    ckpt = keras_run.run_dir / "checkpoints" / "best.keras"
    result = run_script("eval.py", [f"ckpt_path={ckpt}"], tmp_path / "eval")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {k: v for k, v in keras_run.metrics.items() if k.startswith("test/")}
    assert result.metrics == expected


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("model.activation=hardtanh", "model.activation"),
        ("optimizer._target_=torch.optim.Rprop", "optimizer._target_"),
        ("trainer=ddp", "trainer."),
    ],
)
def test_what_keras_cannot_build_fails_at_once_in_one_line(override, named, cli_train) -> None:
    result = cli_train("engine=keras", override)
    assert result.returncode != 0
    lines = result.error_lines()
    assert len(lines) == 1 and named in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Epoch" not in result.stdout


def test_keras_imported_with_another_backend_is_refused(monkeypatch) -> None:
    """Keras fixes its backend at import; a Keras already on jax/tensorflow cannot be reused."""
    from trainlab.keras_backend import check_backend, keras

    assert os.environ["KERAS_BACKEND"] == "torch" and keras.backend.backend() == "torch"
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ConfigError, match="needs Keras' torch backend"):
        check_backend()


def test_optimizers_translate_with_torch_defaults(compose_train) -> None:
    from trainlab.engines.keras.optimizers import translate

    sgd = compose_train("optimizer=sgd", "optimizer.nesterov=true")
    assert translate(sgd.optimizer) == (
        "SGD",
        {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": None},
    )
    name, adam = translate(compose_train("optimizer=adam").optimizer)
    assert (
        name == "Adam" and adam["epsilon"] == 1e-8 and (adam["beta_1"], adam["beta_2"]) == (0.9, 0.999)
    )
    adamw = compose_train("optimizer=adam", "optimizer._target_=torch.optim.AdamW")
    assert translate(adamw.optimizer)[0] == "AdamW"


@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=adam", "optimizer.weight_decay=0.01"],  # L2-in-gradient: no Keras Adam does that
        ["optimizer=sgd", "optimizer.weight_decay=0.01"],  # ... nor SGD with momentum
        ["optimizer=sgd", "+optimizer.dampening=0.5"],
        ["callbacks.early_stopping.monitor=test/acc"],
    ],
)
def test_settings_without_a_keras_counterpart_are_config_errors(overrides, compose_train) -> None:
    from trainlab.engines.keras.config import check_keras_config

    with pytest.raises(ConfigError):
        check_keras_config(compose_train("engine=keras", *overrides))


@pytest.mark.slow
def test_both_engines_record_the_same_epochs_and_metric_names(tmp_path: Path) -> None:
    """``RunResult.history`` and ``history.csv``: one row per epoch, the same columns on both."""
    columns = {f"{stage}/{name}" for stage in ("train", "val") for name in ("loss", "mae", "rmse")}
    for engine in ENGINES:
        result = trainlab.train(
            "experiment=addition", f"engine={engine}", "trainer.max_epochs=2", run_dir=tmp_path / engine
        )
        assert [row["epoch"] for row in result.history] == [1, 2], engine
        assert all(set(row) == {"epoch", *columns} for row in result.history), result.history
        assert all(math.isfinite(value) for row in result.history for value in row.values())
        header = (result.run_dir / "history.csv").read_text().splitlines()[0]
        assert header == ",".join(["epoch", *sorted(columns)]), engine


@pytest.mark.slow
def test_a_diverging_keras_run_stops_with_an_error_naming_the_epoch(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteLossError, match="in epoch"):
        trainlab.train(
            "experiment=addition",
            "engine=keras",
            "optimizer.lr=100",
            "trainer.max_epochs=20",
            run_dir=tmp_path,
        )
    assert (tmp_path / ".hydra" / "config.yaml").is_file()
