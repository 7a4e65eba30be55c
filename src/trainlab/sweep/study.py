"""The study in its storage: opening it, and sharing ``n_trials`` among workers.

Every worker (a rerun of the same command, or the same command on other machines)
opens the same study in the same storage. The storage is the only shared state, so
the trial budget is counted there: a worker asks for a trial only while fewer than
``n_trials`` trials exist, and if another worker asked at the same moment the trial
numbers (assigned by the storage) decide which trial is one too many. Such a trial is
closed at once, marked as not counted, and never run.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlab.errors import TrainlabError
from trainlab.sweep.heartbeat import quiet_heartbeat_warnings, retried_numbers, retry_callback_kwargs

if TYPE_CHECKING:
    import optuna

STUDY_FILE = "study.db"
# A trial closed without a result that should not use up the budget (the value says why).
UNCOUNTED = "uncounted"


def storage_url(storage: str | None, sweep_dir: str | Path) -> str:
    """The configured RDB URL, or SQLite ``study.db`` inside the sweep directory."""
    if storage:
        return str(storage)
    return f"sqlite:///{(Path(sweep_dir) / STUDY_FILE).resolve()}"


def display_url(url: str) -> str:
    """``url`` with any password hidden, for logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


# A worker creating the schema while another does the same sees these; a retry then succeeds.
_CREATION_RACES = ("already exists", "database is locked", "UNIQUE constraint failed")


@functools.lru_cache(maxsize=8)
def open_storage(
    url: str, heartbeat_interval: int | None = None, attempts: int = 5
) -> optuna.storages.BaseStorage:
    """One storage per URL and process: the sweeper and in-process trials share it.

    With ``heartbeat_interval`` (the sweeper's), trials whose worker stopped beating
    are failed and enqueued again (see ``heartbeat.py``).
    """
    import optuna

    heartbeat: dict[str, object] = {}
    if heartbeat_interval:
        quiet_heartbeat_warnings()
        heartbeat = {"heartbeat_interval": heartbeat_interval, **retry_callback_kwargs()}
    for attempt in range(1, attempts + 1):
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.RDBStorage(url, **heartbeat)
        except Exception as error:
            reason = next(iter(str(error).strip().splitlines()), type(error).__name__)
            if attempt < attempts and any(race in reason for race in _CREATION_RACES):
                time.sleep(0.2 * attempt)
                continue
            raise TrainlabError(f"cannot open the Optuna storage {display_url(url)}: {reason}") from None
    raise AssertionError("unreachable")


def open_study(
    name: str,
    url: str,
    direction: str,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    heartbeat_interval: int | None = None,
) -> optuna.Study:
    """Create the study, or load it when it exists (a resumed or a second worker)."""
    import optuna

    storage = open_storage(url, heartbeat_interval)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise TrainlabError(
            f"study {name!r} in {display_url(url)} is {study.direction.name.lower()}d, "
            f"not {direction}d: use another study_name or the same direction"
        )
    return study


def counted(trial: optuna.trial.FrozenTrial) -> bool:
    return UNCOUNTED not in trial.user_attrs


def counted_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials that use up ``n_trials``: not released, and not stale ones run again."""
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    return [t for t in trials if counted(t) and t.number not in retried]


def remaining(study: optuna.Study, n_trials: int) -> int:
    """How many more trials the study needs: finished, running and waiting ones count."""
    return n_trials - len(counted_trials(study))


def claim(
    study: optuna.Study,
    n_trials: int,
    distributions: dict[str, optuna.distributions.BaseDistribution],
) -> optuna.Trial | None:
    """Ask for a trial, or ``None`` (closing it uncounted) when it is one over ``n_trials``."""
    trial = study.ask(distributions)
    before = [t for t in counted_trials(study) if t.number < trial.number]
    if len(before) < n_trials:
        return trial
    release(study, trial, "another worker took the last trial")
    return None


def release(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Close ``trial`` without a result and without using up the budget."""
    import optuna

    trial.set_user_attr(UNCOUNTED, reason)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


def record_failure(study: optuna.Study, trial: optuna.Trial, error: BaseException) -> str:
    """Tell ``trial`` FAIL, keeping the error's first line as the user attribute ``error``."""
    import optuna

    line = next(iter(str(error).strip().splitlines()), "")
    message = line if isinstance(error, TrainlabError) else f"{type(error).__name__}: {line}"
    trial.set_user_attr("error", message)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return message


def summary(study: optuna.Study) -> dict[str, Any]:
    """Counts by state, leaving out uncounted trials."""
    states: dict[str, int] = {}
    for trial in counted_trials(study):
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    return states
