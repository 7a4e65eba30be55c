"""One job's outcome, told to its trial: a value, pruned, failed, or interrupted.

Hydra hands each job's result back as a ``JobReturn``; a job that raised holds its
exception there (a ``TrainlabError`` from a multirun job propagates, see ``jobs.py``).
COMPLETE with ``optimized_metric`` (the objective, a ``val/...`` metric ``train``
returns), PRUNED when the job raised ``optuna.TrialPruned`` (from ``pruning.py``),
FAIL with the error otherwise; all three count toward ``n_trials``. A run stopped by
SIGINT/SIGTERM (``RunInterrupted``) has no outcome: the trial is queued to run again
(``recovery.py``) and the sweep stops.

Each outcome is one line on the console (``trial_line``); the jobs themselves print
nothing in a sweep (``trainlab.console.quiet``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus

from trainlab.errors import RunInterrupted
from trainlab.sweep.recovery import run_again
from trainlab.sweep.study import close, record_failure
from trainlab.usage import PREFIX

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)
#: How a trial's line names its final state.
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


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


def _number(value: Any) -> str:
    """A parameter or metric as the line shows it: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def short_params(params: Mapping[str, Any]) -> str:
    """``lr=0.01 hidden=64``: each key by its last part where that is unambiguous."""
    lasts = [key.rpartition(".")[2] for key in params]
    return " ".join(
        f"{last if lasts.count(last) == 1 else key}={_number(value)}"
        for key, last, value in zip(params, lasts, params.values(), strict=True)
    )


def trial_line(trial: optuna.trial.FrozenTrial, metric: str, new_best: bool = False) -> str:
    """One finished trial in one line, e.g.
    ``trial 3  val/acc=0.9741  complete  12 epochs  4.1 s  lr=0.01 hidden=64  (new best)``.

    A pruned trial shows the value it was pruned at; a failed one, its error last.
    """
    from optuna.trial import TrialState

    value = trial.value
    if value is None and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    parts = [f"trial {trial.number}"]
    if value is not None and trial.state != TrialState.FAIL:
        parts.append(f"{metric}={value:.4f}")
    parts.append(STATES.get(trial.state.name, trial.state.name.lower()))
    if trial.intermediate_values:
        epochs = max(trial.intermediate_values) + 1
        parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''}")
    if trial.duration is not None:
        parts.append(f"{trial.duration.total_seconds():.1f} s")
    if trial.params:
        parts.append(short_params(trial.params))
    if new_best:
        parts.append("(new best)")
    if "error" in trial.user_attrs:
        parts.append(f"error: {trial.user_attrs['error']}")
    return "  ".join(parts)


def _frozen(study: optuna.Study, trial: optuna.Trial) -> optuna.trial.FrozenTrial | None:
    return next((t for t in study.get_trials(deepcopy=False) if t.number == trial.number), None)


def tell(
    study: optuna.Study, trial: optuna.Trial, ret: JobReturn | BaseException, metric: str
) -> optuna.trial.TrialState | RunInterrupted:
    """Record one job's outcome and print its line; the trial's final state, or the
    interruption that stops the sweep.
    """
    import optuna
    from optuna.trial import TrialState

    try:
        value = objective_value(job_result(ret), metric)
    except RunInterrupted as stopped:
        reason = str(stopped).removeprefix(PREFIX)
        run_again(study, trial, reason)
        log.warning("trial %d interrupted: %s", trial.number, reason)
        return stopped
    except optuna.TrialPruned:
        told = close(study, trial, TrialState.PRUNED)
        state: TrialState = TrialState.PRUNED
    except Exception as error:
        record_failure(study, trial, error)
        told, state = True, TrialState.FAIL
    else:
        told = close(study, trial, TrialState.COMPLETE, value)
        state = TrialState.COMPLETE if told else TrialState.FAIL
    frozen = _frozen(study, trial) if told else None  # else ``close`` said why, in a warning
    if frozen is not None and frozen.state == state:
        new_best = state == TrialState.COMPLETE and study.best_trial.number == trial.number
        log_line = log.warning if state == TrialState.FAIL else log.info
        log_line("%s", trial_line(frozen, metric, new_best))
    return state


def sweep_stopped(stopped: RunInterrupted, numbers: list[int]) -> RunInterrupted:
    """The error that ends the sweep: the run's own, and which trials run again."""
    which = (
        f"trial {numbers[0]} runs" if len(numbers) == 1 else f"trials {', '.join(map(str, numbers))} run"
    )
    message = f"{str(stopped).removeprefix(PREFIX)}; {which} again when the sweep is rerun"
    return RunInterrupted(message, stopped.signal_number)
