"""The objective: which metric a trial's result is, checked against what ``train`` logs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from trainlab.errors import ConfigError

DIRECTIONS = ("minimize", "maximize")


def logged_validation_metrics(cfg: DictConfig) -> list[str]:
    """The ``val/...`` names training logs every epoch and returns, from the data's task.

    Loading the data is the only way to know the task (it is read off the data); the
    first trial would load it anyway, and a missing dataset fails here, before it.
    """
    from trainlab.engines.common import build_datamodule
    from trainlab.tasks import make_task

    task = make_task(build_datamodule(cfg).spec)
    return ["val/loss", *(f"val/{name}" for name in task.metrics())]


def check_objective(metric: Any, direction: Any, logged: list[str]) -> None:
    """One clear line for a metric ``train`` never logs, or an unknown direction."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"hydra.sweeper.direction={direction!r}: expected minimize or maximize")
    if not metric:
        raise ConfigError(
            f"optimized_metric is not set: add +optimized_metric=<one of {', '.join(logged)}>"
        )
    if metric not in logged:
        hint = " (sweeps select on validation metrics, never on test ones)" if "test/" in metric else ""
        raise ConfigError(
            f"optimized_metric={metric} is never logged by this task; it logs {', '.join(logged)}{hint}"
        )


def objective_value(result: Any, metric: str) -> float:
    """The trial's value from ``train``'s returned metrics; an error if absent or not finite."""
    if not isinstance(result, Mapping) or metric not in result:
        raise ValueError(f"train returned no {metric}")
    value = float(result[metric])
    if not math.isfinite(value):
        raise ValueError(f"{metric} is {value}")
    return value
