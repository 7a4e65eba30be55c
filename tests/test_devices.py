"""Devices: the trainer choices, what a machine lacks refused in one line, eval.py anywhere.

eval.py takes the run's precision from its saved config and the device from its own
command line, so a run trained on a GPU is evaluated on a CPU with ``trainer=cpu``. The
GPU paths (mixed precision, TF32, torch.compile) run where CUDA is present and skip
elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import trainlab
from trainlab.config.environment import available_cpus, cuda_devices
from trainlab.errors import TrainlabError

from .helpers import run_script

NO_GPU = cuda_devices() == 0
needs_gpu = pytest.mark.skipif(NO_GPU, reason="needs a CUDA GPU")
without_gpu = pytest.mark.skipif(not NO_GPU, reason="checks a machine without a CUDA GPU")
SMALL = ["trainer.max_epochs=1", "figures=false", "~callbacks.rich_progress_bar"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("cpu", {"accelerator": "cpu", "devices": 1, "strategy": "auto"}),
        ("gpu", {"accelerator": "gpu", "devices": 1}),
        ("auto", {"accelerator": "auto", "devices": 1, "strategy": "auto"}),
        ("ddp", {"strategy": "ddp", "devices": 2}),
        ("ddp_cpu", {"accelerator": "cpu", "strategy": "ddp", "devices": 2}),
    ],
)
def test_the_trainer_choices(choice: str, expected: dict[str, object], compose_train) -> None:
    trainer = compose_train(f"trainer={choice}").trainer
    assert {key: trainer[key] for key in expected} == expected
    assert trainer.num_nodes == 1 and trainer.compile is False
    assert trainer.float32_matmul_precision == "highest" and trainer.precision == "32-true"


BAD = [
    ("spawn", "trainer=ddp_cpu trainer.strategy=ddp_spawn", "strategy=ddp_spawn is not supported"),
    ("fork", "trainer=ddp_cpu trainer.strategy=ddp_fork", "strategy=ddp_fork is not supported"),
    ("nodes", "trainer=ddp_cpu trainer.num_nodes=2", "needs MASTER_ADDR and MASTER_PORT set"),
    ("compile", "trainer.compile=fast", "trainer.compile='fast' is invalid: expected true, false"),
    ("matmul", "trainer.float32_matmul_precision=low", "expected one of highest, high, medium"),
    ("keras compile", "engine=keras trainer.compile=true", "is not supported with engine=keras"),
    ("keras tf32", "engine=keras trainer.float32_matmul_precision=high", "not supported with engine"),
    (
        "cpus",
        f"trainer=ddp_cpu trainer.devices={available_cpus() + 1}",
        f"asks for {available_cpus() + 1} CPU processes; this machine has",
    ),
]
NO_GPU_BAD = [
    ("gpu", "trainer=gpu", "trainer.accelerator=gpu but this machine has no CUDA GPU"),
    ("keras gpu", "engine=keras trainer=gpu", "trainer.accelerator=gpu but this machine has no"),
    ("fp16", "trainer.precision=16-mixed", "trainer.precision=16-mixed needs a CUDA GPU"),
]


@pytest.mark.parametrize(("overrides", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_device_options_are_one_line(overrides, fragment, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(TrainlabError) as refused:
        trainlab.train(*overrides.split(), run_dir=tmp_path / "run")
    assert fragment in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "run").exists()


@without_gpu
@pytest.mark.parametrize(
    ("overrides", "fragment"), [c[1:] for c in NO_GPU_BAD], ids=[c[0] for c in NO_GPU_BAD]
)
def test_asking_for_a_gpu_on_a_machine_without_one_is_one_line(overrides, fragment, cli_train) -> None:
    result = cli_train(*overrides.split(), timeout=120)
    assert result.returncode == 2 and len(result.error_lines()) == 1, result.stderr
    assert fragment in result.stderr and "use trainer" in result.stderr
    assert not result.run_dir.exists()


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ("-m trainer=ddp_cpu trainer.num_nodes=2", "one job per command: run each job without -m"),
        ("trainer=ddp_cpu trainer.strategy=ddp_spawn", "trainer.strategy=ddp_spawn is not supported"),
    ],
)
def test_the_command_line_refuses_in_one_line(overrides, fragment, cli_train) -> None:
    result = cli_train(*overrides.split(), timeout=120)
    assert result.returncode == 2 and len(result.error_lines()) == 1, result.stderr
    assert fragment in result.stderr


def _as_trained_on_a_gpu(run_dir: Path) -> None:
    """The saved config as a GPU machine writes it: trainer=gpu."""
    config_file = run_dir / ".hydra" / "config.yaml"
    saved = OmegaConf.load(config_file)
    saved.trainer.accelerator = "gpu"
    OmegaConf.save(saved, config_file)


@pytest.mark.slow
def test_eval_runs_a_gpu_run_on_the_cpu_in_the_runs_precision(tmp_path: Path) -> None:
    run = trainlab.train("trainer=cpu", "trainer.precision=bf16-mixed", *SMALL, run_dir=tmp_path / "run")
    _as_trained_on_a_gpu(run.run_dir)
    checkpoint = run.run_dir / "checkpoints" / "best.ckpt"
    if NO_GPU:  # the run's own device is missing here: one line saying how to move it
        refused = run_script("eval.py", [f"ckpt_path={checkpoint}"], tmp_path / "refused")
        assert refused.returncode == 2 and len(refused.error_lines()) == 1, refused.stderr
        assert "no CUDA GPU" in refused.stderr and "trainer=cpu" in refused.stderr
    on_cpu = run_script("eval.py", [f"ckpt_path={checkpoint}", "trainer=cpu"], tmp_path / "cpu")
    assert on_cpu.returncode == 0, on_cpu.stderr
    # bf16-mixed again: the test metrics of metrics.json, to the last bit
    assert on_cpu.metrics["test/loss"] == run.metrics["test/loss"]
    assert on_cpu.metrics["test/acc"] == run.metrics["test/acc"]
    again = trainlab.evaluate(checkpoint, "trainer.accelerator=cpu", run_dir=tmp_path / "api")
    assert again["test/loss"] == run.metrics["test/loss"]
    in_fp32 = trainlab.evaluate(
        checkpoint, "trainer=cpu", "trainer.precision=32-true", run_dir=tmp_path / "fp32"
    )
    assert in_fp32["test/loss"] != run.metrics["test/loss"]  # the precision is applied
    assert in_fp32["test/loss"] == pytest.approx(run.metrics["test/loss"], abs=1e-2)


@pytest.mark.slow
@needs_gpu
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_a_gpu_run_in_mixed_precision_with_tf32_and_compile(precision: str, tmp_path: Path) -> None:
    import torch

    run = trainlab.train(
        "trainer=gpu",
        f"trainer.precision={precision}",
        "trainer.float32_matmul_precision=high",
        "trainer.compile=true",
        *SMALL,
        run_dir=tmp_path / "run",
    )
    assert torch.get_float32_matmul_precision() == "high"
    saved = json.loads((run.run_dir / "metrics.json").read_text())
    checkpoint = run.run_dir / "checkpoints" / "best.ckpt"
    on_gpu = trainlab.evaluate(checkpoint, run_dir=tmp_path / "gpu")
    assert on_gpu["test/acc"] == pytest.approx(saved["test/acc"], abs=1e-6)
    on_cpu = trainlab.evaluate(checkpoint, "trainer=cpu", run_dir=tmp_path / "cpu")
    assert on_cpu["test/acc"] == pytest.approx(saved["test/acc"], abs=0.01)
