"""Value checks for a composed config, run before torch is imported.

Hydra checks that config groups and keys exist; these rules check that the values
can work, so ``optimizer.lr=-1`` fails in a second with one line instead of deep
inside an optimizer constructor after the imports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from trainlab.errors import ConfigError
from trainlab.models.activations import ACTIVATIONS

_MISSING = object()


def _get(cfg: DictConfig, key: str) -> Any:
    """The value at ``key``, resolved, or ``_MISSING`` when the key is absent."""
    node = OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_number(value: Any) -> bool:
    return _is_number(value) and value > 0


def non_negative_number(value: Any) -> bool:
    return _is_number(value) and value >= 0


def positive_int(value: Any) -> bool:
    return _is_int(value) and value >= 1


def non_negative_int(value: Any) -> bool:
    return _is_int(value) and value >= 0


def fraction_below_one(value: Any) -> bool:
    return _is_number(value) and 0 <= value < 1


def open_fraction(value: Any) -> bool:
    return _is_number(value) and 0 < value < 1


def layer_widths(value: Any) -> bool:
    return isinstance(value, list) and all(positive_int(v) for v in value)


def one_of(*choices: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return value in choices

    check.__doc__ = f"one of {', '.join(map(str, choices))}"
    return check


# (config key, predicate, what a valid value is). Absent keys are skipped, so one
# table serves every model, optimizer and datamodule.
RULES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("seed", non_negative_int, "a non-negative integer"),
    ("figures", lambda value: isinstance(value, bool), "true or false"),
    ("optimizer.lr", positive_number, "a positive number"),
    ("optimizer.momentum", fraction_below_one, "a number in [0, 1)"),
    ("optimizer.weight_decay", non_negative_number, "a non-negative number"),
    ("model.hidden", layer_widths, "a list of positive integers, e.g. [256,256]"),
    ("model.activation", one_of(*ACTIVATIONS), f"one of {', '.join(ACTIVATIONS)}"),
    ("model.dropout", fraction_below_one, "a number in [0, 1)"),
    ("trainer.max_epochs", positive_int, "an integer >= 1"),
    ("trainer.gradient_clip_val", non_negative_number, "a non-negative number (0: off)"),
    ("trainer.gradient_clip_algorithm", one_of("norm", "value"), "norm or value"),
    (
        "trainer.accumulate_grad_batches",
        one_of(1),
        "1: trainlab steps the optimizer every batch (raise data.batch_size instead)",
    ),
    ("data.batch_size", positive_int, "an integer >= 1"),
    ("data.eval_batch_size", positive_int, "an integer >= 1"),
    ("data.val_fraction", open_fraction, "a number in (0, 1)"),
    ("data.test_fraction", open_fraction, "a number in (0, 1)"),
    ("data.val_size", positive_int, "an integer >= 1"),
    ("data.scaler", one_of("minmax", "standard", "none"), "one of minmax, standard, none"),
    ("data.pixel_scale", one_of("unit", "standard", "none"), "one of unit, standard, none"),
    ("callbacks.early_stopping.patience", non_negative_int, "a non-negative integer"),
    ("callbacks.rich_progress_bar.refresh_per_second", positive_number, "a positive number"),
]


def check_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` naming the first value that cannot work."""
    missing = [str(key) for key in cfg if OmegaConf.is_missing(cfg, key)]  # e.g. ckpt_path: ???
    if missing:
        raise ConfigError(f"{missing[0]} is required: give it on the command line ({missing[0]}=...)")
    for key, is_valid, expected in RULES:
        try:
            value = _get(cfg, key)
        except Exception as error:  # an interpolation that cannot resolve yet
            if "hydra" in str(error).lower():
                continue
            raise ConfigError(f"{key}: {error}") from None
        if value is _MISSING or value is None:
            continue
        if not is_valid(value):
            raise ConfigError(f"{key}={value!r} is invalid: expected {expected}")
    fractions = [_get(cfg, k) for k in ("data.val_fraction", "data.test_fraction")]
    if all(_is_number(f) for f in fractions) and sum(fractions) >= 1:
        raise ConfigError(
            f"data.val_fraction + data.test_fraction = {sum(fractions):g} leaves no training data"
        )
