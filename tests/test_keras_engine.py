"""engine=keras: a Keras run looks like a Lightning run, reloads, and refuses what it cannot build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainlab.cli import fit
from trainlab.errors import ConfigError, NonFiniteLossError

from .conftest import Result, run_script

DIGITS_KERAS = ["engine=keras", "trainer.max_epochs=2"]


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    result = run_script("train.py", DIGITS_KERAS, tmp_path_factory.mktemp("keras") / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _scalar_tags(run_dir: Path) -> set[str]:
    tags: set[str] = set()
    for events in run_dir.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    return tags


def _has_hparams(run_dir: Path) -> bool:
    for events in run_dir.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if "hparams" in accumulator.PluginTagToContent("hparams") or accumulator.PluginTagToContent(
            "hparams"
        ):
            return True
    return False


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
    tags = _scalar_tags(keras_run.run_dir)
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "test/loss", "test/acc", "epoch"} <= tags
    assert _has_hparams(keras_run.run_dir)


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
def test_what_keras_cannot_build_fails_at_once_in_one_line(override, named, train) -> None:
    result = train("engine=keras", override)
    assert result.returncode != 0
    lines = result.error_lines()
    assert len(lines) == 1 and named in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Epoch" not in result.stdout


def test_keras_imported_with_another_backend_is_refused(monkeypatch) -> None:
    """Keras fixes its backend at import; a Keras already on jax/tensorflow cannot be reused."""
    from trainlab.engines.keras.backend import keras, load_keras

    assert os.environ["KERAS_BACKEND"] == "torch" and keras.backend.backend() == "torch"
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ConfigError, match="needs Keras' torch backend"):
        load_keras()


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
    from trainlab.engines.keras.checks import check_keras_config

    with pytest.raises(ConfigError):
        check_keras_config(compose_train("engine=keras", *overrides))


def test_both_engines_call_the_epoch_hooks_with_the_same_metric_names(
    compose_train, monkeypatch, tmp_path
) -> None:
    import trainlab.engines.keras.training as keras_training
    import trainlab.engines.lightning as lightning_engine

    seen: dict[str, list[tuple[int, set[str]]]] = {"lightning": [], "keras": []}
    for engine, module in (("lightning", lightning_engine), ("keras", keras_training)):

        def hooks(cfg, engine=engine):
            return [lambda epoch, metrics: seen[engine].append((epoch, set(metrics)))]

        monkeypatch.setattr(module, "epoch_end_hooks", hooks)
        fit(
            compose_train(
                "experiment=addition",
                f"engine={engine}",
                "trainer.max_epochs=2",
                f"paths.output_dir={tmp_path / engine}",
            )
        )
    assert seen["keras"] == seen["lightning"]
    assert [epoch for epoch, _ in seen["keras"]] == [0, 1]
    assert seen["keras"][0][1] == {f"{s}/{m}" for s in ("train", "val") for m in ("loss", "mae", "rmse")}


def test_a_diverging_keras_run_stops_with_an_error_naming_the_epoch(compose_train, tmp_path) -> None:
    cfg = compose_train(
        "experiment=addition",
        "engine=keras",
        "optimizer.lr=100",
        "trainer.max_epochs=20",
        f"paths.output_dir={tmp_path}",
    )
    with pytest.raises(NonFiniteLossError, match="in epoch"):
        fit(cfg)
