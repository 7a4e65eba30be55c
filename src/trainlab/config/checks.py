"""Value checks for a composed config, run before torch is imported.

Hydra checks that config groups and keys exist; these rules check that the values
can work, so ``optimizer.lr=-1`` fails in a second with one line instead of deep
inside an optimizer constructor after the imports. The rules are split by what they
look at: this module (the run, model and optimizer), ``trainer_checks`` (Lightning's
Trainer options) and ``data_checks`` (the data, and what follows from its task: the
metrics one can monitor, the width of ``predict`` rows, the split sizes). What the
machine must provide (devices, writable directories) is ``environment``'s, checked by
the pre-flight alone.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from trainlab.config.data_checks import DATA_RULES, check_data
from trainlab.config.trainer_checks import TRAINER_RULES, check_trainer
from trainlab.config.values import (
    MISSING,
    Rule,
    check_rules,
    fraction_below_one,
    int_at_least,
    layer_widths,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_number,
    seed,
    value_at,
)
from trainlab.errors import ConfigError
from trainlab.models.activations import torch_activation
from trainlab.models.mlp import check_init

MODES = "min or max"

RULES: list[Rule] = [
    Rule("seed", seed, "an integer in [0, 2**32)", nullable=False),
    Rule("figures", lambda value: isinstance(value, bool), "true or false"),
    Rule("monitor_mode", one_of("min", "max"), MODES, nullable=False),
    Rule("callbacks.early_stopping.mode", one_of("min", "max"), MODES),
    Rule("callbacks.model_checkpoint.mode", one_of("min", "max"), MODES),
    Rule("optimizer.lr", positive_number, "a positive number", nullable=False),
    Rule("optimizer.momentum", fraction_below_one, "a number in [0, 1)"),
    Rule("optimizer.weight_decay", non_negative_number, "a non-negative number"),
    Rule("model.hidden", layer_widths, "a list of positive integers, e.g. [256,256]"),
    Rule("model.dropout", fraction_below_one, "a number in [0, 1)"),
    Rule("callbacks.early_stopping.patience", non_negative_int, "a non-negative integer"),
    Rule("callbacks.rich_progress_bar.refresh_per_second", positive_number, "a positive number"),
    Rule(
        "engine.steps_per_call",
        lambda value: value == "auto" or int_at_least(1)(value),
        "auto or an integer >= 1",
        nullable=False,
    ),
]


def check_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` naming the first value that cannot work."""
    missing = [str(key) for key in cfg if OmegaConf.is_missing(cfg, key)]  # e.g. ckpt_path: ???
    if missing:
        raise ConfigError(f"{missing[0]} is required: give it on the command line ({missing[0]}=...)")
    check_rules(cfg, [*RULES, *TRAINER_RULES, *DATA_RULES])
    activation = value_at(cfg, "model.activation")
    if activation is not MISSING:
        torch_activation(activation)
    output_activation = value_at(cfg, "model.output_activation")
    if output_activation not in (MISSING, None):
        torch_activation(output_activation, "model.output_activation")
    init = value_at(cfg, "model.init")
    if init is not MISSING:
        check_init(init)
    check_trainer(cfg)
    check_data(cfg)
