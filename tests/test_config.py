"""Config composition and fast, one-line rejection of bad input (no training here)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from trainlab.config import check_config
from trainlab.config.preflight import check_overrides
from trainlab.errors import ConfigError
from trainlab.models import MLP
from trainlab.usage import PREFIX, default_groups, group_options, unknown_group_option

from .helpers import refuse_in_process

DATA, MODELS, OPTIMIZERS = (
    ("digits", "mnist", "housing"),
    ("linear", "mlp", "mlp_dropout"),
    ("sgd", "adam"),
)


@pytest.mark.parametrize(
    ("data", "model", "optimizer"), list(itertools.product(DATA, MODELS, OPTIMIZERS))
)
def test_every_data_model_optimizer_combination_composes(compose_train, data, model, optimizer):
    cfg = compose_train(f"data={data}", f"model={model}", f"optimizer={optimizer}")
    check_config(cfg)
    assert isinstance(instantiate(cfg.model), MLP)
    built = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    assert built.param_groups[0]["lr"] == cfg.optimizer.lr
    assert type(instantiate(cfg.data)).__name__.lower().startswith(data[:5])


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer=cpu"],
        ["trainer=gpu"],
        ["trainer=ddp"],
        ["logger=csv"],
        ["debug=fdr"],
        ["debug=overfit"],
        ["debug=limit"],
        ["scheduler=cosine"],
        ["model=mlp", "model.hidden=[64,32,16]", "model.activation=gelu", "model.dropout=0.1"],
    ],
)
def test_other_groups_compose(compose_train, overrides):
    check_config(compose_train(*overrides))


def test_model_sizes_come_from_the_datamodule(compose_train, data_dir):
    """data=housing model=mlp_dropout just works: 8 inputs, 1 output, no hand-synced sizes."""
    expected = {"digits": (64, 10), "housing": (8, 1), "mnist": (784, 10)}
    for data, (inputs, outputs) in expected.items():
        overrides = {"digits": ["data=digits"], "housing": data_dir.housing, "mnist": data_dir.mnist}
        cfg = compose_train(*overrides[data], "model=mlp_dropout")
        datamodule = instantiate(cfg.data)
        datamodule.setup()
        network = instantiate(cfg.model).build_torch(datamodule.spec)
        linears = [m for m in network if isinstance(m, torch.nn.Linear)]
        assert (linears[0].in_features, linears[-1].out_features) == (inputs, outputs)
        assert [m.out_features for m in linears[:-1]] == [24, 24]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optimizer.lr=-1", "optimizer.lr"),
        ("optimizer.lr=abc", "optimizer.lr"),
        ("model.hidden=[0]", "model.hidden"),
        ("model.activation=relux", "model.activation"),
        ("model.dropout=1.5", "model.dropout"),
        ("trainer.max_epochs=0", "trainer.max_epochs"),
        ("data.batch_size=0", "data.batch_size"),
        ("callbacks.rich_progress_bar.refresh_per_second=0", "refresh_per_second"),
    ],
)
def test_impossible_values_are_config_errors(compose_train, override, expected):
    with pytest.raises(ConfigError, match=expected):
        check_config(compose_train(override))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model=nope", "unknown option model=nope; available: linear, mlp, mlp_dropout"),
        ("optimizer.lr=-1", "optimizer.lr=-1 is invalid"),
        ("model.hidden=[0]", "model.hidden=[0] is invalid"),
        ("model.activation=relux", "model.activation='relux' is invalid"),
        ("model.dropout=1.5", "model.dropout=1.5 is invalid"),
        ("model.nope=1", "Could not override 'model.nope'"),
        ("model.hidden=[", "trainlab: error:"),
        ("+trainer.accumulate_grad_batches=4", "trainer.accumulate_grad_batches=4 is invalid"),
    ],
)
def test_cli_rejects_bad_input_with_one_line(override, message, cli_train):
    result = cli_train(override, timeout=60)
    lines = result.error_lines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert lines[0].startswith("trainlab: error:")


def test_eval_without_a_checkpoint_path_is_one_line(cli_evaluate):
    result = cli_evaluate()
    lines = result.error_lines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "ckpt_path is required" in lines[0]


def test_eval_of_a_checkpoint_that_does_not_exist_is_one_line(cli_evaluate, tmp_path: Path):
    result = cli_evaluate(f"ckpt_path={tmp_path}/nope.ckpt")
    lines = result.error_lines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "does not exist" in lines[0]


def test_config_errors_come_back_before_torch_is_imported():
    result, imported = refuse_in_process("optimizer.lr=-1")
    assert result.returncode == 2
    assert "torch" not in imported


# A mistyped group option is refused from conf/ alone, in the composition's own words.
GROUPS = [(name, g) for name in ("train", "eval") for g in default_groups(name) if g != "hydra"]


@pytest.mark.parametrize(("config_name", "group"), GROUPS)
def test_the_files_refuse_a_group_option_as_the_composition_does(config_name, group):
    with pytest.raises(ConfigError) as composed:
        check_overrides(config_name, [f"{group}=nope"])
    quick = unknown_group_option(config_name, [f"{group}=nope"])
    assert quick is not None and PREFIX + quick == str(composed.value)
    for option in group_options(group):
        assert unknown_group_option(config_name, ["-m", f"{group}={option}"]) is None


@pytest.mark.parametrize(
    ("config_name", "argv"),
    [
        ("train", ["+model=nope"]),
        ("train", ["model=mlp,nope"]),
        ("train", ["model='nope'"]),
        ("train", ["model=nope.yaml"]),
        ("train", ["model=nope", "model=mlp"]),
        ("train", ["--cfg", "job", "model=nope"]),
        ("train", ["hydra.searchpath=[file:///elsewhere]", "model=nope"]),
        ("eval", ["model=nope"]),  # eval.yaml chooses no model: Hydra's own message
    ],
)
def test_the_files_leave_every_other_command_line_to_the_composition(config_name, argv):
    assert unknown_group_option(config_name, argv) is None


def test_a_mistyped_group_option_is_refused_before_hydra_is_imported():
    result, imported = refuse_in_process("data=digits", "model=mpl", "trainer.max_epochs=3")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "trainlab: error: unknown option model=mpl; available: linear, mlp, mlp_dropout"
    )
    assert imported == set()


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ("model=mlp,nope", "unknown option model=nope"),
        ("optimizer.lr=0.1,-1", "optimizer.lr=-1 is invalid"),
    ],
)
def test_multirun_rejects_a_bad_sweep_value_before_any_job(sweep, message, cli_train, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = cli_train("-m", sweep, f"hydra.sweep.dir={sweep_dir}", timeout=60)
    lines = result.error_lines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert message in lines[0]
    assert not sweep_dir.exists() or not any(sweep_dir.iterdir())  # no job ran


@pytest.mark.slow
def test_multirun_over_a_glob_of_lessons_runs_each_match(cli_train, tmp_path):
    """``-m 'experiment=glob(*)'`` (every lesson) passes the checks; here two lessons match."""
    sweep_dir = tmp_path / "sweep"
    result = cli_train(
        "-m", "experiment=glob(multiply*)", "trainer.max_epochs=2", f"hydra.sweep.dir={sweep_dir}"
    )
    assert result.returncode == 0, result.stderr
    jobs = [line.split(",")[0] for line in result.stdout.splitlines() if "val/loss=" in line]
    assert jobs == ["0_experiment=multiply_by_3", "1_experiment=multiply_by_3_relu"], result.stdout
    assert result.stdout.count("prediction for [5.0]") == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=nope"], "unknown option model=nope"),
        (["optimizer.lr=-1"], "optimizer.lr=-1 is invalid"),
        (["engine=keras", "model.activation=hardtanh"], "model.activation"),
    ],
)
def test_the_python_api_raises_the_clis_one_line_errors(overrides, message, tmp_path):
    import trainlab

    with pytest.raises(ConfigError, match=message) as error:
        trainlab.train(*overrides, run_dir=tmp_path / "run")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained
