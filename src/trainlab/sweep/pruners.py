"""Pruners by name (``hydra.sweeper.pruner=median``), each with Optuna's own arguments.

Both the sweeper (which creates the study) and each training job (which asks
``should_prune`` after every epoch) build the pruner from the same sweeper config,
so a job needs nothing but the config it was launched with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from trainlab.errors import ConfigError

if TYPE_CHECKING:
    import optuna

PRUNERS = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
}


def make_pruner(
    name: str | None, settings: Mapping[str, Any] | None = None
) -> optuna.pruners.BasePruner:
    """``optuna.pruners.<Class>(**settings[name])`` for the pruner called ``name``."""
    import optuna

    name = str(name or "none").lower()
    if name not in PRUNERS:
        raise ConfigError(f"hydra.sweeper.pruner={name!r} is unknown; available: {', '.join(PRUNERS)}")
    kwargs = (settings or {}).get(name) or {}
    if OmegaConf.is_config(kwargs):
        kwargs = OmegaConf.to_container(kwargs, resolve=True)
    try:
        return getattr(optuna.pruners, PRUNERS[name])(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"hydra.sweeper.pruners.{name}: {error}") from None
