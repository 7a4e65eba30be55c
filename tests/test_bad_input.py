"""Bad input ends in one line and a non-zero exit, before anything heavy runs.

Each mistake is refused by the Python API with the pre-flight's one-line message and
no run directory; a few of each kind also run the real CLI (``python train.py ...``),
which must give exit status 2, exactly one stderr line starting ``trainlab: error:``,
no traceback, and no run directory left behind (the pre-flight runs before Hydra
makes it). What only the loaded data can tell is checked in-process against the same
functions the engines call. Only the last test trains.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

import trainlab
from trainlab.config import environment
from trainlab.config.data_checks import check_task_fits
from trainlab.config.environment import available_cpus, check_data_dir, cuda_devices
from trainlab.config.preflight import check_overrides
from trainlab.config.runtime_checks import check_data_fits
from trainlab.data.layouts import TASK_METRICS, layout_of
from trainlab.data.splitting import three_way_split
from trainlab.errors import ConfigError, DataError, TrainlabError
from trainlab.usage import USAGE_ERROR

from .helpers import Result, refuse_in_process, run_script

TOO_MANY_CPUS = available_cpus() + 1


def assert_one_line(result: Result, fragment: str) -> None:
    """The pre-flight's refusal: status 2, one ``trainlab: error:`` line, no run directory."""
    lines = result.error_lines()
    assert result.returncode == USAGE_ERROR, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trainlab: error: ")
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not result.run_dir.exists(), list(result.run_dir.iterdir())


# (id, overrides, a fragment of the one line)
CASES = [
    # 1. monitors the task never logs (Lightning failed after an epoch; Keras trained on)
    ("monitor", "monitor=val/nope", "monitor=val/nope is never logged while training digits"),
    ("monitor keras", "engine=keras monitor=val/nope", "monitor=val/nope is never logged"),
    ("monitor regression", "data=housing monitor=val/acc", "housing (regression); it logs train/loss"),
    ("monitor binary", "data=mnist_binary_6x6 monitor=val/rmse", "training mnist (binary)"),
    ("early stop", "callbacks.early_stopping.monitor=val/nope", "early_stopping.monitor=val/nope is"),
    ("on test", "callbacks.model_checkpoint.monitor=test/acc", "checkpoint.monitor=test/acc is never"),
    ("direction", "monitor=val/acc", "monitor=val/acc is better higher: set monitor_mode=max"),
    ("optimized", "+optimized_metric=val/rmse", "optimized_metric=val/rmse is never logged"),
    # 2. seeds that are not integers, or null
    ("split seed", "data.split_seed=abc", "data.split_seed='abc' is invalid: expected an integer"),
    ("shuffle seed", "data.shuffle_seed=abc", "data.shuffle_seed='abc' is invalid"),
    ("pairs seed", "experiment=addition data.seed=1.5", "data.seed=1.5 is invalid"),
    ("seed", "seed=abc", "seed='abc' is invalid"),
    ("negative seed", "seed=-1", "seed=-1 is invalid"),
    ("huge seed", "seed=4294967296", "seed=4294967296 is invalid"),
    ("null seed", "seed=null", "seed=null is invalid"),
    ("job seed", "seed=${hydra:job.num}", "seed=${hydra:job.num} (null here) is invalid"),
    # 3. trainer integers out of range
    ("val every 0", "trainer.check_val_every_n_epoch=0", "check_val_every_n_epoch=0 is invalid"),
    ("val every -1", "trainer.check_val_every_n_epoch=-1", "check_val_every_n_epoch=-1 is invalid"),
    ("log every", "trainer.log_every_n_steps=-1", "trainer.log_every_n_steps=-1 is invalid"),
    ("sanity", "trainer.num_sanity_val_steps=-2", "trainer.num_sanity_val_steps=-2 is invalid"),
    ("max epochs", "trainer.max_epochs=0", "trainer.max_epochs=0 is invalid"),
    ("min epochs", "+trainer.min_epochs=-1", "trainer.min_epochs=-1 is invalid"),
    ("min > max", "+trainer.min_epochs=5 trainer.max_epochs=3", "min_epochs=5 is more than"),
    ("max steps 0", "+trainer.max_steps=0", "trainer.max_steps=0 is invalid: expected -1 (no limit)"),
    ("max steps -2", "+trainer.max_steps=-2", "trainer.max_steps=-2 is invalid"),
    # 4. splits that would be empty, or too small to stratify
    ("tiny val", "data.val_fraction=0.0001", "leaves 1 sample in the validation split of digits; a"),
    ("mnist val", "data=mnist data.val_size=60000", "leaves the training split of mnist empty"),
    ("fractions", "data.val_fraction=0.5 data.test_fraction=0.5", "leaves no training data"),
    ("no points", "experiment=multiply_by_3 data.inputs=[]", "data.inputs=[] is invalid"),
    # 5. predict rows of another width than the data's inputs
    ("predict", "predict=[[1,2]]", "predict row [1, 2] has 2 values; digits takes 64 inputs"),
    ("predict keras", "engine=keras predict=[[1,2]]", "digits takes 64 inputs"),
    ("predict 3x", "experiment=multiply_by_3 predict=[[1,2]]", "multiply_by_3 takes 1 input per"),
    ("predict sum", "experiment=addition predict=[[4]]", "addition takes 2 inputs"),
    ("predict housing", "data=housing predict=[[1]]", "housing takes 8 inputs"),
    ("predict 6x6", "experiment=mnist_binary_6x6 predict=[[1]]", "mnist takes 36 inputs"),
    ("predict words", "experiment=multiply_by_3 predict=[[a]]", "predict row ['a'] is invalid"),
    ("predict scalar", "predict=5", "predict=5 is invalid: expected a list of input rows"),
    # 7. devices, accelerators, precisions, modes
    (
        "too many cpus",
        f"trainer.accelerator=cpu trainer.strategy=ddp trainer.devices={TOO_MANY_CPUS}",
        f"trainer.devices={TOO_MANY_CPUS} asks for {TOO_MANY_CPUS} CPU processes; this machine has",
    ),
    ("cpu list", "trainer.accelerator=cpu trainer.devices=[0,1]", "is not a number of CPU processes"),
    ("no devices", "trainer.devices=0", "trainer.devices=0 is invalid"),
    ("tpu", "trainer.accelerator=tpu", "trainer.accelerator='tpu' is invalid: expected one of cpu"),
    ("precision", "trainer.precision=foo", "trainer.precision='foo' is invalid: expected one of"),
    ("precision keras", "engine=keras trainer.precision=foo", "trainer.precision='foo' is invalid"),
    ("mode", "monitor_mode=foo", "monitor_mode='foo' is invalid: expected min or max"),
    ("ddp keras", "engine=keras trainer=ddp", "is not supported with engine=keras"),
    ("activation keras", "engine=keras model.activation=hardtanh", "has no Keras counterpart"),
    # 8. batch limits that run nothing
    ("no train", "trainer.limit_train_batches=0", "trainer.limit_train_batches=0 is invalid"),
    ("no train 0.0", "trainer.limit_train_batches=0.0", "limit_train_batches=0.0 is invalid"),
    ("no val", "trainer.limit_val_batches=0", "trainer.limit_val_batches=0 is invalid"),
    ("no test", "trainer.limit_test_batches=0.0", "trainer.limit_test_batches=0.0 is invalid"),
    ("above 1", "trainer.limit_train_batches=1.5", "limit_train_batches=1.5 is invalid"),
]


@pytest.mark.parametrize(("overrides", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_the_run_directory(overrides, fragment, tmp_path: Path):
    """Through the Python API, which runs the pre-flight's checks in-process."""
    run_dir = tmp_path / "run"
    with pytest.raises(TrainlabError) as refused:
        trainlab.train(*overrides.split(), run_dir=run_dir)
    message = str(refused.value)
    assert message.startswith("trainlab: error: ") and "\n" not in message
    assert fragment in message, message
    assert not run_dir.exists()


# The command line gives the same refusals as one stderr line and exit 2: a few of each kind.
CLI_CASES = ["monitor keras", "split seed", "tiny val", "predict", "tpu", "ddp keras", "no train"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_input_is_one_line_before_the_run_directory(case: str, cli_train) -> None:
    overrides, fragment = next(c[1:] for c in CASES if c[0] == case)
    assert_one_line(cli_train(*overrides.split(), timeout=120), fragment)


def test_asking_for_more_gpus_than_there_are_is_one_line(cli_train):
    gpus = cuda_devices()
    expected = f"asks for {gpus + 1} GPUs" if gpus else "trainer.accelerator=gpu but this machine has no"
    assert_one_line(cli_train("trainer=gpu", f"trainer.devices={gpus + 1}", timeout=120), expected)


def test_more_devices_than_the_machine_has_is_one_line(cli_train):
    """The default accelerator (auto) with too many devices: Lightning would start them all."""
    count = max(available_cpus(), cuda_devices()) + 1
    assert_one_line(cli_train(f"trainer.devices={count}", timeout=120), f"asks for {count}")


GPU_CASES = [  # on a machine with 1 GPU
    ("trainer.accelerator=gpu trainer.devices=2", "asks for 2 GPUs; this machine has 1 CUDA GPU"),
    ("trainer.accelerator=cuda trainer.devices=[0,3]", "names GPU 3; this machine has 1 CUDA GPU"),
    ("trainer.devices=2", "trainer.devices=2 asks for 2 GPUs"),  # auto picks the GPU
    ("trainer.accelerator=mps trainer.devices=2", "Apple's MPS is one device"),
]


@pytest.mark.parametrize(("overrides", "fragment"), GPU_CASES)
def test_gpu_counts_are_checked_against_the_gpus(overrides, fragment, compose_train, monkeypatch):
    monkeypatch.setattr(environment, "cuda_devices", lambda: 1)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        environment.check_devices(compose_train(*overrides.split()))
    environment.check_devices(compose_train("trainer=gpu"))


def test_the_writability_probe_leaves_nothing_behind(tmp_path: Path):
    environment.check_writable(tmp_path / "a" / "b" / "run", "hydra.run.dir")
    assert not (tmp_path / "a").exists()


# 6. a run directory that cannot be written: named in the one line, nothing left behind
def _unwritable_dirs(tmp_path: Path) -> list[Path]:
    (tmp_path / "a_file").write_text("")
    dirs = [tmp_path / "a_file" / "run"]
    if Path("/proc/self").is_dir():
        dirs.append(Path("/proc/trainlab_run"))
    if os.geteuid() != 0:  # root writes into a read-only directory anyway
        (tmp_path / "read_only").mkdir(mode=0o555)
        dirs.append(tmp_path / "read_only" / "run")
    return dirs


def test_an_unwritable_run_directory_is_one_line_naming_it(cli_train, tmp_path: Path):
    for run_dir in _unwritable_dirs(tmp_path):
        result = run_script("train.py", [], run_dir, timeout=120)
        assert_one_line(result, f"cannot write the run directory {run_dir} (hydra.run.dir)")
    sweep_dir = tmp_path / "a_file" / "sweep"
    result = cli_train("-m", "optimizer.lr=0.1,0.2", f"hydra.sweep.dir={sweep_dir}", timeout=120)
    assert_one_line(result, f"cannot write the run directory {sweep_dir} (hydra.sweep.dir)")


# 9. a data directory given on purpose that does not exist is not created
def test_a_mistyped_data_dir_is_one_line_and_not_created(cli_train, tmp_path: Path, monkeypatch):
    missing = tmp_path / "no" / "such" / "dir"
    monkeypatch.setenv("TRAINLAB_DATA_DIR", str(missing))
    for data in ("housing", "mnist"):
        result = cli_train(f"data={data}", timeout=120)
        assert_one_line(result, f"data directory {missing} does not exist (TRAINLAB_DATA_DIR)")
    monkeypatch.delenv("TRAINLAB_DATA_DIR")
    result = cli_train("data=mnist", f"paths.data_dir={missing}", timeout=120)
    assert_one_line(result, f"data directory {missing} does not exist (paths.data_dir)")
    assert not (tmp_path / "no").exists()


def test_the_default_data_dir_may_still_be_made_for_downloads(compose_train, monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINLAB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./data here
    check_data_dir(compose_train("data=mnist"))


def test_a_multirun_is_checked_as_its_first_job(tmp_path: Path):
    """``${hydra:job.num}`` has a value in a sweep's jobs; a bad value of a sweep is refused."""
    sweep_dir = f"hydra.sweep.dir={tmp_path / 'sweep'}"
    check_overrides("train", ["-m", "seed=${hydra:job.num}", "optimizer.lr=0.1,0.2", sweep_dir])
    with pytest.raises(ConfigError, match=re.escape("data.split_seed='abc' is invalid")):
        check_overrides("train", ["-m", "data.split_seed=1,abc", sweep_dir])
    assert not (tmp_path / "sweep").exists()


BEFORE_TORCH = "monitor=val/nope predict=[[1,2]] data.val_fraction=0.0001 trainer.limit_train_batches=0"


@pytest.mark.parametrize("override", [*BEFORE_TORCH.split(), f"trainer.devices={TOO_MANY_CPUS}"])
def test_these_refusals_come_before_torch_is_imported(override, tmp_path: Path):
    run_dir = f"hydra.run.dir={tmp_path / 'run'}"
    result, imported = refuse_in_process(override, "trainer.accelerator=cpu", run_dir)
    assert result.returncode == USAGE_ERROR, result.stderr
    assert "torch" not in imported


# What only the loaded data can tell, and that the layouts say what the data is.
@pytest.mark.slow
def test_an_empty_split_found_when_loading_names_its_option():
    import torch

    from trainlab.data.base import DataSpec, Splits, TensorDataModule

    class EmptyValidation(TensorDataModule):
        split_options: ClassVar[dict[str, str]] = {"val": "data.val_size"}

        def load(self) -> tuple[Splits, DataSpec]:
            x, y = torch.zeros(4, 2), torch.zeros(4, 1)
            return Splits((x, y), (x[:0], y[:0]), (x, y)), DataSpec((2,), 1, "regression")

    empty = "the val split of EmptyValidation is empty; change data.val_size"
    with pytest.raises(DataError, match=re.escape(empty)):
        EmptyValidation().setup()
    labels = np.repeat(np.arange(10), 20)
    with pytest.raises(
        DataError, match=re.escape("data.val_fraction=0.001 and data.test_fraction=0.2 cannot split")
    ):
        three_way_split(len(labels), 0.001, 0.2, seed=0, stratify=labels)


def test_monitors_and_predict_rows_are_checked_against_a_loaded_spec(compose_train):
    from trainlab.data.base import DataSpec

    cfg = compose_train("monitor=val/acc", "monitor_mode=max", "predict=[[1,2,3]]")
    check_data_fits(cfg, DataSpec((3,), 4, "multiclass"))
    with pytest.raises(ConfigError, match="takes 2 inputs per sample"):
        check_data_fits(cfg, DataSpec((2,), 4, "multiclass"))
    with pytest.raises(ConfigError, match=r"monitor=val/acc is never logged .* \(regression\)"):
        check_task_fits(cfg, "regression", 3, "my data")


@pytest.mark.parametrize(
    "data", ["digits", "housing", "mnist", "mnist_binary_6x6", "multiply_by_3", "addition"]
)
def test_each_data_configs_layout_is_what_its_data_turns_out_to_be(data, compose_train, data_dir):
    from trainlab.tasks import make_task

    located = {"housing": data_dir.housing, "mnist": data_dir.mnist}.get(data, [f"data={data}"])
    if data == "mnist_binary_6x6":
        located = [*data_dir.mnist, "data=mnist_binary_6x6"]
    cfg = compose_train(*located)
    layout = layout_of(OmegaConf.to_container(cfg.data, resolve=True))
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    spec, splits = datamodule.spec, datamodule.loaded_splits()
    assert layout is not None and layout.splits is not None
    assert (layout.task, layout.input_width) == (spec.task, int(np.prod(spec.input_shape)))
    assert tuple(make_task(spec).metrics()) == TASK_METRICS[spec.task]
    sizes = tuple(len(pair[1]) for pair in (splits.train, splits.val, splits.test))
    # the published sizes: the small generated files differ; 6x6 keeps two classes of them
    if (data_dir.real or data not in ("housing", "mnist")) and data != "mnist_binary_6x6":
        assert layout.splits.sizes == sizes


@pytest.mark.slow
def test_a_valid_run_at_the_edges_of_the_checks_trains(cli_train):
    """Refusing bad input must not refuse good input: every checked option set, and valid."""
    result = cli_train(
        "monitor=val/acc",
        "monitor_mode=max",
        "seed=0",
        "data.split_seed=4294967295",
        "trainer.accelerator=cpu",
        "trainer.devices=1",
        "trainer.precision=32",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=0.1",
        "trainer.num_sanity_val_steps=-1",
        "trainer.log_every_n_steps=0",
        "predict=[[" + ",".join(["0"] * 64) + "]]",
        "figures=false",
    )
    assert result.returncode == 0, result.stderr
    assert "prediction for" in result.stdout
