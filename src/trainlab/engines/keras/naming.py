"""Keras' log keys (``loss``, ``val_acc``) <-> trainlab's metric tags (``train/loss``, ``val/acc``).

Both engines log, monitor and report under the Lightning engine's tags, so
``callbacks.early_stopping.monitor=val/loss`` means the same on either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trainlab.errors import ConfigError

VAL_PREFIX = "val_"


def keras_key(tag: str, option: str = "callbacks.early_stopping.monitor") -> str:
    """``val/loss`` -> ``val_loss``; ``train/acc`` -> ``acc`` (what Keras' callbacks monitor)."""
    stage, _, name = tag.partition("/")
    if stage == "train" and name:
        return name
    if stage == "val" and name:
        return VAL_PREFIX + name
    raise ConfigError(f"{option}={tag!r} cannot be monitored while training: use val/<metric>")


def tags(logs: Mapping[str, Any], names: Iterable[str]) -> dict[str, float]:
    """The epoch's ``logs`` under trainlab's tags, for the metric ``names`` the model compiled."""
    tagged: dict[str, float] = {}
    for name in names:
        if name in logs:
            tagged[f"train/{name}"] = float(logs[name])
        if VAL_PREFIX + name in logs:
            tagged[f"val/{name}"] = float(logs[VAL_PREFIX + name])
    return tagged


def stage_tags(stage: str, results: Mapping[str, Any]) -> dict[str, float]:
    """``model.evaluate(..., return_dict=True)`` results as ``val/...`` or ``test/...``."""
    return {f"{stage}/{name}": float(value) for name, value in results.items()}
