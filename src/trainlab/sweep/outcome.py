"""One job's outcome, told to its trial: a value, pruned, failed, or interrupted.

Hydra hands each job's result back as a ``JobReturn``; a job that raised holds its
exception there (a ``TrainlabError`` from a multirun job propagates, see ``cli.py``).
COMPLETE with ``optimized_metric`` (the objective, a ``val/...`` metric ``train``
returns), PRUNED when the job raised ``optuna.TrialPruned`` (from ``pruning.py``),
FAIL with the error otherwise; all three count toward ``n_trials``. A run stopped by
SIGINT/SIGTERM (``RunInterrupted``) has no outcome: the trial is queued to run again
(``recovery.py``) and the sweep stops.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus

from trainlab.errors import PREFIX, RunInterrupted
from trainlab.sweep.recovery import run_again
from trainlab.sweep.study import close, record_failure

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def job_result(ret: JobReturn | BaseException) -> Any:
    """What the job returned; the job's exception, raised again, when it failed.

    Hydra's ``JobReturn.return_value`` writes an "Error executing job" line to stderr
    before it raises; the sweeper reports each failed trial itself, in one line.
    """
    if isinstance(ret, BaseException):  # the launcher could not even start the job
        raise ret
    if ret.status == JobStatus.FAILED:
        with contextlib.redirect_stderr(io.StringIO()):
            return ret.return_value
    return ret.return_value


def objective_value(result: Any, metric: str) -> float:
    """The trial's value from ``train``'s returned metrics; an error if absent or not finite."""
    if not isinstance(result, Mapping) or metric not in result:
        raise ValueError(f"train returned no {metric}")
    value = float(result[metric])
    if not math.isfinite(value):
        raise ValueError(f"{metric} is {value}")
    return value


def tell(
    study: optuna.Study, trial: optuna.Trial, ret: JobReturn | BaseException, metric: str
) -> optuna.trial.TrialState | RunInterrupted:
    """Record one job's outcome; the trial's final state, or the interruption that stops the sweep."""
    import optuna
    from optuna.trial import TrialState

    try:
        value = objective_value(job_result(ret), metric)
    except RunInterrupted as stopped:
        reason = str(stopped).removeprefix(PREFIX)
        run_again(study, trial, reason)
        log.warning("trial %d interrupted: %s", trial.number, reason)
        return stopped
    except optuna.TrialPruned as pruned:
        log.info("trial %d pruned: %s", trial.number, pruned)
        close(study, trial, TrialState.PRUNED)
        return TrialState.PRUNED
    except Exception as error:
        message = record_failure(study, trial, error)
        log.warning("trial %d failed: %s", trial.number, message)
        return TrialState.FAIL
    if not close(study, trial, TrialState.COMPLETE, value):
        return TrialState.FAIL
    best = study.best_trial
    log.info("trial %d: %s=%.4f (best %.4f)", trial.number, metric, value, best.value)
    return TrialState.COMPLETE


def sweep_stopped(stopped: RunInterrupted, numbers: list[int]) -> RunInterrupted:
    """The error that ends the sweep: the run's own, and which trials run again."""
    which = (
        f"trial {numbers[0]} runs" if len(numbers) == 1 else f"trials {', '.join(map(str, numbers))} run"
    )
    message = f"{str(stopped).removeprefix(PREFIX)}; {which} again when the sweep is rerun"
    return RunInterrupted(message, stopped.signal_number)
