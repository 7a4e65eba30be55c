"""Pruning from inside the training job, through the study's storage.

The sweeper adds ``+trial.storage=... +trial.study_name=... +trial.number=N`` to every
job's overrides. The job finds its trial in the storage, reports the optimized metric
after each epoch and raises ``optuna.TrialPruned`` when the pruner says so. Nothing is
shared in memory with the sweeper, so this works with any Hydra launcher (local
processes, a cluster) and with every engine that calls the epoch-end hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from trainlab.errors import ConfigError
from trainlab.sweep.pruners import make_pruner
from trainlab.sweep.study import open_storage


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
