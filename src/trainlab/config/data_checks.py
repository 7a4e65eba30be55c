"""Checks of the data config, and of what follows from the data's task, before it is read.

A dataset's task decides what a run logs (``val/loss`` always, ``val/acc`` for
classification, ``val/mae`` and ``val/rmse`` for regression, and the same under
``train/``), so a callback monitoring anything else would fail after the first epoch
(Lightning) or watch nothing while training on (Keras). Its input width decides what
a ``predict`` row must hold, which would otherwise show only after training. Both come
from the DataModule's declaration applied to the data config (``trainlab.data.layouts``:
the same declaration the DataModule builds its ``DataSpec`` from), as do the split sizes
of the datasets whose size is published, so an empty or unstratifiable split is refused
here too, before torch is imported.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from trainlab.config.values import (
    MISSING,
    Rule,
    is_int,
    is_number,
    one_of,
    open_fraction,
    plural,
    positive_int,
    seed,
    value_at,
)
from trainlab.data.layouts import METRIC_MODES, SPLITS, DataLayout, TaskKind, layout_of, metric_names
from trainlab.errors import ConfigError

SEED = "an integer in [0, 2**32)"
POSITIVE = "an integer >= 1"
SPLIT_NAMES = dict(zip(SPLITS, ("training", "validation", "test"), strict=True))
#: The keys naming a monitored metric, each with the key of its direction (min or max).
MONITORS = {
    "monitor": "monitor_mode",
    "callbacks.early_stopping.monitor": "callbacks.early_stopping.mode",
    "callbacks.model_checkpoint.monitor": "callbacks.model_checkpoint.mode",
}


def digit_classes(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(is_int(v) and 0 <= v <= 9 for v in value)
        and len(set(value)) == len(value)
    )


def numbers(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_number(v) for v in value)


def batch_size(value: Any) -> bool:
    return positive_int(value) or value == "full"


def pixel_scale(value: Any) -> bool:
    return one_of("unit", "standard", "none")(value) or (is_number(value) and value > 0)


DATA_RULES: list[Rule] = [
    Rule("data.split_seed", seed, SEED, nullable=False),
    Rule("data.shuffle_seed", seed, SEED, nullable=False),
    Rule("data.seed", seed, SEED, nullable=False),
    Rule(
        "data.batch_size",
        batch_size,
        "an integer >= 1, or full (the whole training split)",
        nullable=False,
    ),
    Rule("data.eval_batch_size", positive_int, POSITIVE),
    Rule(
        "data.val_fraction",
        open_fraction,
        "a number in (0, 1), or null (no validation part: validate on the test split)",
    ),
    Rule("data.test_fraction", open_fraction, "a number in (0, 1)", nullable=False),
    Rule(
        "data.val_size",
        positive_int,
        "an integer >= 1 (mnist, cifar10: or null, to validate on the test set)",
    ),
    Rule("data.scaler", one_of("minmax", "standard", "none"), "one of minmax, standard, none"),
    Rule(
        "data.pixel_scale",
        pixel_scale,
        "one of unit, standard, none, or a positive divisor such as 255",
        nullable=False,
    ),
    Rule("data.stratify", lambda value: isinstance(value, bool), "true or false", nullable=False),
    Rule("data.image_size", positive_int, POSITIVE),
    Rule("data.classes", digit_classes, "a list of two or more different digits, e.g. [0,1]"),
    Rule("data.resize_method", one_of("area", "bilinear"), "area or bilinear"),
    Rule("data.inputs", numbers, "a non-empty list of numbers, e.g. [-3,-2,-1,0,1,2,3]"),
    Rule("data.factor", is_number, "a number"),
    Rule("data.num_pairs", positive_int, POSITIVE),
    Rule("data.low", is_int, "an integer"),
    Rule("data.high", is_int, "an integer"),
]


def _shown(cfg: DictConfig, option: str) -> str:
    """``data.val_fraction + data.test_fraction`` with each option's value."""
    return " + ".join(f"{key}={value_at(cfg, key)}" for key in option.split(" + "))


def _check_split_sizes(cfg: DictConfig, layout: DataLayout) -> None:
    splits = layout.splits
    if splits is None:
        return
    parts = list(zip(SPLITS, splits.sizes, splits.options, strict=True))
    # The test split before the validation split, which may be the test split itself.
    for split, size, option in (parts[0], parts[2], parts[1]):
        name = f"the {SPLIT_NAMES[split]} split of {layout.name}"
        if size <= 0:
            raise ConfigError(f"{_shown(cfg, option)} leaves {name} empty (of {splits.total:,} samples)")
        if size < splits.minimum:
            raise ConfigError(
                f"{_shown(cfg, option)} leaves {plural(size, 'sample')} in {name}; a stratified split "
                f"needs at least {splits.minimum} (one per class)"
            )


def check_monitors(cfg: DictConfig, task: TaskKind, data_name: str) -> None:
    """The monitored metrics exist in the task's logs and are followed in their direction."""
    logged = metric_names(task)
    for key, mode_key in MONITORS.items():
        metric = value_at(cfg, key)
        if metric is MISSING or metric is None:
            continue
        if metric not in logged:
            raise ConfigError(
                f"{key}={metric} is never logged while training {data_name} ({task}); "
                f"it logs {', '.join(logged)}"
            )
        mode, better = value_at(cfg, mode_key), METRIC_MODES[str(metric).partition("/")[2]]
        if mode in ("min", "max") and mode != better:
            direction = "lower" if better == "min" else "higher"
            raise ConfigError(f"{key}={metric} is better {direction}: set {mode_key}={better}")
    optimized = value_at(cfg, "optimized_metric")
    validation = metric_names(task, ("val",))
    if optimized not in (MISSING, None) and optimized not in validation:
        raise ConfigError(
            f"optimized_metric={optimized} is never logged for {data_name} ({task}); "
            f"a sweep optimizes one of {', '.join(validation)}"
        )


def check_predict(cfg: DictConfig, input_width: int, data_name: str) -> None:
    """Each ``predict`` row holds one sample's raw inputs: ``input_width`` numbers."""
    rows = value_at(cfg, "predict")
    if rows is MISSING or rows is None:
        return
    if not isinstance(rows, list):
        raise ConfigError(f"predict={rows!r} is invalid: expected a list of input rows, e.g. [[5],[-9]]")
    for row in rows:
        values = row if isinstance(row, list) else [row]
        if not all(is_number(value) for value in values):
            raise ConfigError(f"predict row {row!r} is invalid: expected numbers")
        if len(values) != input_width:
            raise ConfigError(
                f"predict row {row} has {plural(len(values), 'value')}; {data_name} takes "
                f"{plural(input_width, 'input')} per sample"
            )


def check_task_fits(cfg: DictConfig, task: TaskKind, input_width: int, data_name: str) -> None:
    """The monitors and ``predict`` rows fit data of this ``task`` and ``input_width``."""
    check_monitors(cfg, task, data_name)
    check_predict(cfg, input_width, data_name)


def check_data(cfg: DictConfig) -> None:
    """What the data rules cannot see one option at a time; the task's consequences."""
    fractions = [value_at(cfg, key) for key in ("data.val_fraction", "data.test_fraction")]
    if all(is_number(f) for f in fractions) and sum(fractions) >= 1:
        raise ConfigError(
            f"data.val_fraction + data.test_fraction = {sum(fractions):g} leaves no training data"
        )
    low, high = value_at(cfg, "data.low"), value_at(cfg, "data.high")
    if is_int(low) and is_int(high) and low > high:
        raise ConfigError(f"data.low={low} is more than data.high={high}")
    data = value_at(cfg, "data")
    layout = layout_of(data) if isinstance(data, dict) else None
    if layout is None:  # a DataModule without a declaration: checked once loaded (runtime_checks)
        return
    _check_split_sizes(cfg, layout)
    check_task_fits(cfg, layout.task, layout.input_width, layout.name)
    output_activation = value_at(cfg, "model.output_activation")
    if layout.task != "regression" and output_activation not in (MISSING, None):
        raise ConfigError(
            f"model.output_activation={output_activation} is for regression outputs; "
            f"{layout.name} is {layout.task} and its loss takes the logits: set it to null"
        )
