"""Reading a config's values for the checks, and what a valid value is.

The checks read values resolved (``shuffle_seed: ${seed}`` is checked as the seed it
becomes) and skip keys a config does not have, so one rule table serves every model,
optimizer, trainer and datamodule. A rule says whether null is allowed: a seed that
resolves to null (``seed=${hydra:job.num}`` outside a multirun) is refused, while a
null ``trainer.check_val_every_n_epoch`` is Lightning's own choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from trainlab.errors import ConfigError

MISSING: Any = object()  # the key is absent from the config
#: numpy's, scikit-learn's and Lightning's seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1


class Rule(NamedTuple):
    """``key`` must satisfy ``is_valid``; ``expected`` says what a valid value is."""

    key: str
    is_valid: Callable[[Any], bool]
    expected: str
    nullable: bool = True


def value_at(cfg: DictConfig, key: str) -> Any:
    """The value at ``key``, resolved (config nodes as plain containers), or ``MISSING``."""
    try:
        node = OmegaConf.select(cfg, key, default=MISSING, throw_on_missing=False)
        if OmegaConf.is_config(node):
            return OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as error:  # e.g. an interpolation to a missing key
        raise ConfigError(f"{key}: {str(error).splitlines()[0]}") from None
    return node


def written_value(cfg: DictConfig, key: str) -> Any:
    """The value at ``key`` as written, interpolations unresolved (for messages)."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if not isinstance(parent, DictConfig):
        return MISSING
    written = OmegaConf.to_container(parent, resolve=False)
    return written.get(leaf, MISSING) if isinstance(written, dict) else MISSING


def check_rules(cfg: DictConfig, rules: Iterable[Rule]) -> None:
    """Raise ``ConfigError`` naming the first value that breaks its rule."""
    for rule in rules:
        value = value_at(cfg, rule.key)
        if value is MISSING or (value is None and rule.nullable):
            continue
        if value is None:
            written = written_value(cfg, rule.key)
            shown = "null" if written is None else f"{written} (null here)"
            raise ConfigError(f"{rule.key}={shown} is invalid: expected {rule.expected}")
        if not rule.is_valid(value):
            raise ConfigError(f"{rule.key}={value!r} is invalid: expected {rule.expected}")


def plural(count: int, noun: str) -> str:
    """``1 sample``, ``2 samples``, ``3 CPU processes``."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun}{'es' if noun.endswith('s') else 's'}"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_at_least(minimum: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return is_int(value) and value >= minimum

    return check


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_number(value: Any) -> bool:
    return is_number(value) and value > 0


def non_negative_number(value: Any) -> bool:
    return is_number(value) and value >= 0


def fraction_below_one(value: Any) -> bool:
    return is_number(value) and 0 <= value < 1


def open_fraction(value: Any) -> bool:
    return is_number(value) and 0 < value < 1


def seed(value: Any) -> bool:
    return is_int(value) and 0 <= value <= MAX_SEED


def layer_widths(value: Any) -> bool:
    return isinstance(value, list) and all(positive_int(v) for v in value)


def one_of(*choices: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return any(value == choice and type(value) is type(choice) for choice in choices)

    return check
