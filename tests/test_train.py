"""End-to-end runs through the CLI: run directory, TensorBoard, eval, determinism, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import trainlab

from .helpers import DIVERGING, Result, run_script

pytestmark = pytest.mark.slow
SHORT = ["trainer.max_epochs=3", "seed=7"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    result = run_script("train.py", SHORT, tmp_path_factory.mktemp("digits") / "run")
    assert result.returncode == 0, result.stderr
    return result


def test_run_directory_holds_config_events_checkpoints_and_metrics(digits_run):
    run = digits_run.run_dir
    assert (run / ".hydra" / "config.yaml").is_file()
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    assert set(digits_run.metrics) == {"val/loss", "val/acc", "test/loss", "test/acc"}
    assert 0.5 < digits_run.metrics["test/acc"] <= 1.0
    assert f"test/acc={digits_run.metrics['test/acc']:.4f}" in digits_run.stdout


def test_the_progress_bar_ends_each_epoch_complete_with_its_speed(digits_run):
    """The bar skips most per-batch redraws, but never the last one or the speed."""
    # The bar counts training_step calls (several optimizer steps each: engine.steps_per_call).
    ends = re.findall(r"Epoch (\d)/3 .* (\d+)/\2 .* ([0-9.]+)it/s", digits_run.stdout)
    assert [epoch for epoch, _, _ in ends][-1] == "3"
    assert all(float(speed) >= 0 for _, _, speed in ends)


def test_tensorboard_has_per_epoch_scalars_and_hparams(digits_run):
    events = EventAccumulator(str(digits_run.run_dir))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert scalars == {"train/loss", "train/acc", "train/lr", "val/loss", "val/acc"}
    assert [event.step for event in events.Scalars("val/loss")] == [1, 2, 3]  # once per epoch
    summary = EventAccumulator(str(digits_run.run_dir / "summary"))
    summary.Reload()
    finals = {tag: summary.Scalars(tag)[-1].value for tag in summary.Tags()["scalars"]}
    assert finals == pytest.approx(digits_run.metrics)
    hparams = summary.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams
    start = hparams["_hparams_/session_start_info"].decode(errors="ignore")
    assert "optimizer.lr" in start and "model.hidden" in start


def test_eval_recomputes_the_test_metrics_from_a_checkpoint(digits_run, cli_evaluate):
    result = cli_evaluate(f"ckpt_path={digits_run.run_dir / 'checkpoints' / 'best.ckpt'}")
    assert result.returncode == 0, result.stderr
    expected = {k: v for k, v in digits_run.metrics.items() if k.startswith("test/")}
    assert result.metrics == expected


def test_same_seed_gives_identical_metrics(digits_run, cli_train):
    again = cli_train(*SHORT)
    assert again.returncode == 0, again.stderr
    assert again.metrics == digits_run.metrics


def test_mnist_trains_through_the_cli(cli_train, data_dir):
    result = cli_train(*data_dir.mnist, "trainer.max_epochs=1", "trainer.limit_train_batches=40")
    assert result.returncode == 0, result.stderr
    assert set(result.metrics) == {"val/loss", "val/acc", "test/loss", "test/acc"}
    assert result.metrics["test/acc"] > 0.5


def test_housing_trains_through_the_cli(cli_train, data_dir):
    result = cli_train(*data_dir.housing, "model=mlp_dropout", "trainer.max_epochs=2", "logger=csv")
    assert result.returncode == 0, result.stderr
    assert {"test/mae", "test/rmse", "test/loss", "val/rmse"} <= set(result.metrics)
    assert (result.run_dir / "metrics.csv").is_file()


def test_fast_dev_run_runs_one_batch_of_everything(cli_train):
    result = cli_train("debug=fdr")
    assert result.returncode == 0, result.stderr
    assert "test/acc" in result.metrics


def test_nan_loss_stops_the_run_and_keeps_the_checkpoints(cli_train, data_dir):
    result = cli_train(*data_dir.housing, *DIVERGING)
    assert result.returncode != 0
    lines = result.error_lines()
    assert len(lines) == 1 and "NaN" in lines[0], result.stderr
    epoch = re.search(r"in epoch (\d+)", lines[0])
    assert epoch and int(epoch.group(1)) >= 2, lines[0]
    assert (result.run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (result.run_dir / ".hydra" / "config.yaml").is_file()
    events = EventAccumulator(str(result.run_dir))
    events.Reload()
    assert "val/loss" in events.Tags()["scalars"]  # the logs written so far survive
    summary = EventAccumulator(str(result.run_dir / "summary"))
    summary.Reload()
    assert "_hparams_/session_start_info" in summary.PluginTagToContent("hparams")
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "failed"


def test_missing_dataset_is_one_line_naming_the_path(cli_train, tmp_path: Path):
    result = cli_train("data=mnist", f"paths.data_dir={tmp_path}", "data.download=false")
    lines = result.error_lines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert str(tmp_path / "mnist") in lines[0]


def test_ddp_on_two_cpu_processes_trains_and_reports_once(cli_train):
    result = cli_train("trainer=ddp", "trainer.accelerator=cpu", "trainer.max_epochs=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("metrics: ") == 1  # rank 0 reports
    assert result.metrics["test/acc"] > 0.5
    assert (result.run_dir / "checkpoints" / "best.ckpt").is_file()


def test_gradient_clipping_and_the_lr_schedule_apply_to_every_step(tmp_path: Path):
    """The module optimizes by hand, so it must still clip and schedule as the Trainer would."""

    def run(name: str, *overrides: str) -> tuple[dict[str, float], list[float]]:
        result = trainlab.train(
            "trainer.max_epochs=3", "optimizer=sgd", *overrides, run_dir=tmp_path / name
        )
        events = EventAccumulator(str(result.run_dir))
        events.Reload()
        return result.metrics, [event.value for event in events.Scalars("train/lr")]

    free, constant = run("free")
    # Each gradient entry clipped to 1e-9: the network cannot leave its initial weights.
    clipped, _ = run(
        "clipped", "trainer.gradient_clip_val=1e-9", "trainer.gradient_clip_algorithm=value"
    )
    assert free["test/acc"] > 0.8 and clipped["test/acc"] < 0.3
    _, cosine = run("cosine", "scheduler=cosine")
    assert constant == pytest.approx([0.05] * 3)
    assert cosine[0] == pytest.approx(0.05) and cosine[0] > cosine[1] > cosine[2] > 0
