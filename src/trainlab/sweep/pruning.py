"""Pruning: the pruner by name, and the epoch-end report from inside the training job.

``hydra.sweeper.pruner=median`` names one of Optuna's pruners; ``hydra.sweeper.pruners``
holds each one's arguments. Both the sweeper (which creates the study) and each
training job (which asks ``should_prune`` after every epoch) build the pruner from the
same sweeper config, so a job needs nothing but the config it was launched with.

The sweeper adds ``+trial.storage=... +trial.study_name=... +trial.number=N`` to every
job's overrides. The job finds its trial in the storage, reports the optimized metric
after each epoch and raises ``optuna.TrialPruned`` when the pruner says so. Nothing is
shared in memory with the sweeper, so this works with any Hydra launcher (local
processes, a cluster) and with every engine that calls the epoch-end hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from trainlab.errors import ConfigError
from trainlab.sweep.study import open_storage

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
        pruner: optuna.pruners.BasePruner = getattr(optuna.pruners, PRUNERS[name])(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"hydra.sweeper.pruners.{name}: {error}") from None
    return pruner


def trial_reporter(cfg: DictConfig) -> Callable[[int, dict[str, float]], None]:
    """An epoch-end hook reporting ``cfg.optimized_metric`` to trial ``cfg.trial.number``."""
    import optuna

    metric = cfg.get("optimized_metric")
    if not metric:
        raise ConfigError("optimized_metric is not set: the sweep cannot report to its trial")
    sweeper = HydraConfig.get().sweeper if HydraConfig.initialized() else {}
    storage = open_storage(str(cfg.trial.storage))
    study = optuna.load_study(
        study_name=str(cfg.trial.study_name),
        storage=storage,
        pruner=make_pruner(sweeper.get("pruner"), sweeper.get("pruners")),
    )
    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, int(cfg.trial.number))
    trial = optuna.trial.Trial(study, trial_id)

    def report(epoch: int, metrics: dict[str, float]) -> None:
        value = metrics.get(metric)
        if value is None:
            raise ConfigError(f"optimized_metric={metric} is not logged; logged: {', '.join(metrics)}")
        if not math.isfinite(value):
            return  # the engine stops a non-finite run itself
        trial.report(value, step=epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}: {metric}={value:.4f}")

    return report
