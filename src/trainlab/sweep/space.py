"""The search space: ``hydra.sweeper.params`` (and sweep overrides) as Optuna distributions.

Syntax, one entry per config key::

    optimizer.lr: {type: float, low: 1.0e-4, high: 0.3, log: true}
    model.hidden: {type: int, low: 32, high: 512, step: 32}   # every hidden layer
    model.hidden.0: {type: int, low: 32, high: 512}           # or one layer
    model.activation: {type: categorical, choices: [relu, tanh, gelu]}

An ``int`` or ``float`` sampled for a key whose configured value is a list sets every
element, so ``model.hidden`` sweeps the width of all hidden layers at the depth the
model config has. On the command line, ``key=a,b`` / ``choice(a,b)`` is categorical,
``range(lo,hi,step)`` an int and ``interval(lo,hi)`` (``tag(log, ...)``) a float.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from trainlab.errors import ConfigError

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from optuna.distributions import BaseDistribution

_ABSENT = object()
_PLAIN = re.compile(r"^[A-Za-z0-9_./+\-]+$")
_KINDS = ("float", "int", "categorical")
_LIST_CHOICE = "list:"  # marks a categorical choice that is a list, e.g. "list:[64,64]"


@dataclass(frozen=True)
class Param:
    """One swept key: its Optuna distribution and, for a list key, how many elements to set."""

    key: str
    distribution: BaseDistribution
    repeat: int | None = None  # the list's length when one value sets every element

    def override(self, value: Any) -> str:
        """The Hydra override that applies a sampled ``value`` to a job."""
        if isinstance(value, str) and value.startswith(_LIST_CHOICE):
            return f"{self.key}={value.removeprefix(_LIST_CHOICE)}"
        if self.repeat is not None:
            value = [value] * self.repeat
        return f"{self.key}={override_value(value)}"


def override_value(value: Any) -> str:
    """``value`` in Hydra's override grammar (lists as ``[a,b]``, odd strings quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | ListConfig):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, str) and not _PLAIN.match(value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, float):  # 0.15, not 0.15000000000000002 from a stepped range
        return repr(float(f"{value:.12g}"))
    return str(value)


def _categorical_choice(value: Any) -> Any:
    """Optuna stores scalars only: a list choice is kept as its override string."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    return _LIST_CHOICE + override_value(value) if isinstance(value, list) else value


def _check_range(low: Any, high: Any) -> None:
    if low > high:
        raise ValueError(f"empty range: low={low} > high={high}")


def _distribution(key: str, spec: Mapping[str, Any]) -> BaseDistribution:
    """The Optuna distribution for one ``params`` entry; Optuna validates the range."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    where = f"hydra.sweeper.params.{key}"
    kind = spec.get("type")
    if kind is None:
        raise ConfigError(f"{where}: no type; expected e.g. {{type: float, low: 0.001, high: 0.1}}")
    if kind not in _KINDS:
        raise ConfigError(f"{where}: type must be one of {', '.join(_KINDS)} (got {kind!r})")
    allowed = {"type", "choices"} if kind == "categorical" else {"type", "low", "high", "log", "step"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)} for type {kind}")
    try:
        if kind == "categorical":
            choices = spec.get("choices")
            if not choices:
                raise ValueError("choices must be a non-empty list")
            return CategoricalDistribution([_categorical_choice(c) for c in choices])
        if "low" not in spec or "high" not in spec:
            raise ValueError("low and high are required")
        _check_range(spec["low"], spec["high"])
        log = bool(spec.get("log", False))
        if kind == "int":
            return IntDistribution(
                int(spec["low"]), int(spec["high"]), log=log, step=spec.get("step", 1)
            )
        return FloatDistribution(float(spec["low"]), float(spec["high"]), log=log, step=spec.get("step"))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{where}: {error}") from None


def _from_sweep_override(override: Override) -> BaseDistribution:
    """A command-line sweep (``a,b``, ``range(...)``, ``interval(...)``) as a distribution."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    key = override.get_key_element()
    try:
        if isinstance(value, ChoiceSweep):
            return CategoricalDistribution([_categorical_choice(c) for c in value.list])
        if isinstance(value, RangeSweep):
            assert value.start is not None and value.stop is not None
            high = value.stop - value.step  # range() excludes its stop
            if isinstance(value.start, int) and isinstance(value.step, int):
                return IntDistribution(value.start, int(high), step=value.step)
            return FloatDistribution(value.start, high, step=value.step)
        if isinstance(value, IntervalSweep):
            assert value.start is not None and value.end is not None
            _check_range(value.start, value.end)
            return FloatDistribution(value.start, value.end, log="log" in value.tags)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None
    raise ConfigError(f"{key}: this sweep form is not supported by the Optuna sweeper")


def _list_length(cfg: DictConfig, key: str) -> int | None:
    node = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
    if node is _ABSENT:
        raise ConfigError(f"hydra.sweeper.params: unknown key {key!r}: it is not in the composed config")
    return len(node) if isinstance(node, ListConfig) else None


def search_space(
    params: Mapping[str, Any] | None,
    sweep_overrides: list[Override],
    cfg: DictConfig,
    fixed: frozenset[str] = frozenset(),
) -> list[Param]:
    """Every swept key, checked against the composed config ``cfg`` before any trial runs.

    A key in ``fixed`` (a plain command-line override such as ``model.dropout=0``) is
    left out: the command line fixes what the config would search.
    """
    from optuna.distributions import CategoricalDistribution

    entries: dict[str, BaseDistribution] = {}
    for key, spec in (params or {}).items():
        if str(key) in fixed:
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"hydra.sweeper.params.{key}: expected a mapping such as "
                "{type: float, low: 0.001, high: 0.1, log: true}"
            )
        entries[str(key)] = _distribution(str(key), spec)
    for override in sweep_overrides:
        entries[override.get_key_element()] = _from_sweep_override(override)
    if not entries:
        raise ConfigError("hydra.sweeper.params is empty: nothing to search")
    space = []
    for key, distribution in entries.items():
        length = _list_length(cfg, key)
        if length is not None and isinstance(distribution, CategoricalDistribution):
            length = None  # a categorical choice is a whole list already, e.g. [64,64]
        space.append(Param(key, distribution, length))
    for param in space:
        parent = param.key.rpartition(".")[0]
        if any(other.key == parent and other.repeat is not None for other in space):
            raise ConfigError(f"{param.key} and {parent} are both swept: sweep one or the other")
    return space
