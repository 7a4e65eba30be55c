"""The study in its storage: opening it, sharing ``n_trials`` among workers.

Every worker (a rerun of the same command, or the same command on other machines)
opens the same study in the same storage. The storage is the only shared state, so
the trial budget is counted there. ``n_trials`` counts the trials that ran to an
outcome (COMPLETE, PRUNED, or FAIL with the error that failed them); while the study
runs, the RUNNING trials count as well, so workers never start more than ``n_trials``
between them. A worker asks for a trial only while fewer than ``n_trials`` count, and
if another worker asked at the same moment the trial numbers (assigned by the storage)
decide which trial is one too many. Such a trial is closed at once, marked as not
counted, and never run.

A trial that never reached an outcome (its worker was killed, or it was interrupted)
does not count: ``recovery.py`` queues it again, WAITING with the same parameters,
and the next ``study.ask`` of any worker runs it before sampling anything new.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlab.errors import TrainlabError
from trainlab.usage import PREFIX

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

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


@functools.cache
def quiet_heartbeat_warnings() -> None:
    """Optuna flags its heartbeat API as experimental, once per call: once per sweep is enough."""
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", r"(?i).*(heartbeat|fail_stale_trials)", ExperimentalWarning)
    warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")


def retry_callback() -> Any:
    """Optuna's callback that queues a failed trial again with its parameters.

    Its system attribute ``failed_trial`` names the first trial of the series.
    """
    import optuna

    quiet_heartbeat_warnings()
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    return (retry or optuna.storages.RetryFailedTrialCallback)()


def retry_callback_kwargs() -> dict[str, Any]:
    """The retry callback as ``RDBStorage``'s argument, under the name this Optuna version uses."""
    import optuna

    stale = hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback")
    return {"heartbeat_stale_trial_callback" if stale else "failed_trial_callback": retry_callback()}


# A worker creating the schema while another does the same sees these; a retry then succeeds.
_CREATION_RACES = (
    "already exists",
    "database is locked",
    "UNIQUE constraint failed",
    "duplicate key value violates unique constraint",  # PostgreSQL's CREATE TABLE race
)
#: What ``pip install`` names a database driver by, when not by its module.
DRIVER_PACKAGES = {
    "psycopg2": "'trainlab[postgres]'",
    "psycopg": "'psycopg[binary]'",
    "MySQLdb": "mysqlclient",
}
#: Database names as users write them, by SQLAlchemy backend name.
BACKEND_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}
#: A connection's failure, as libpq (and MySQL) word it -> the few words the error line says.
CONNECT_FAILURES = (
    ("connection refused", "connection refused"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("timeout expired", "timed out"),
    ("timed out", "timed out"),
    ("no route to host", "no route to host"),
    ("password authentication failed", "password authentication failed"),
)
#: Seconds a PostgreSQL connection may take (unless the URL sets connect_timeout): a host
#: that drops packets answers in minutes otherwise.
CONNECT_TIMEOUT_S = 10


class StorageError(TrainlabError):
    """The storage cannot be opened; ``problem`` says why in a few words.

    ``known`` is False when the reason is the driver's own message, not one recognized.
    """

    def __init__(self, url: str, problem: str, known: bool = True) -> None:
        super().__init__(f"cannot open the Optuna storage {display_url(url)}: {problem}")
        self.url, self.problem, self.known = url, problem, known

    def __reduce__(self) -> tuple[Any, ...]:  # a job's error travels back from its process
        return (type(self), (self.url, self.problem, self.known))

    def for_option(self, option: str) -> TrainlabError:
        """The same error, naming the option the URL was given by."""
        what = self.problem if self.known else f"cannot open the Optuna storage ({self.problem})"
        return TrainlabError(f"{option}={display_url(self.url)}: {what}")


def driver_url(url: str) -> str:
    """``url`` with psycopg2 as its driver when it names none and SQLAlchemy's default is missing.

    A bare ``postgresql://`` means psycopg2 to SQLAlchemy before 2.1 and psycopg 3 from
    2.1 on; ``trainlab[postgres]`` installs psycopg2, which every version can use.
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return url  # ``open_storage`` reports it
    if parsed.drivername != "postgresql" or _importable(parsed.get_dialect().driver):
        return url
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def storage_problem(url: str, error: BaseException) -> tuple[str, bool]:
    """What stops ``url`` from opening, in a few words, and whether it was recognized."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    reason = next(iter(str(getattr(error, "orig", None) or error).strip().splitlines()), "")
    reason = reason or type(error).__name__
    if isinstance(error, NoSuchModuleError):
        dialect = url.partition(":")[0].partition("+")
        if dialect[1]:
            return f"unknown database driver {dialect[2]!r} for {dialect[0]}", True
        return f"unknown database dialect {dialect[0]!r} (e.g. postgresql, mysql, sqlite)", True
    if isinstance(error, ArgumentError) or (isinstance(error, ValueError) and "://" in url):
        return f"not a database URL ({reason}); e.g. postgresql://user@host:5432/db", True
    try:
        parsed = make_url(url)
    except Exception:
        return reason, False
    backend = parsed.get_backend_name()
    if isinstance(error, ImportError):  # Optuna's "Failed to import DB access module"
        missing = _missing_driver(parsed)
        if missing is not None:
            name = BACKEND_NAMES.get(backend, backend)
            package = DRIVER_PACKAGES.get(missing, missing)
            return f"the {name} driver {missing} is not installed (pip install {package})", True
    if backend != "sqlite" and type(error).__name__ == "OperationalError":
        where = f"{parsed.host or 'localhost'}:{parsed.port or _default_port(backend)}"
        lowered = reason.lower()
        words = next((words for text, words in CONNECT_FAILURES if text in lowered), None)
        if words is None:  # e.g. FATAL:  database "x" does not exist
            words = reason.partition("FATAL:")[2].strip() or reason
        return f"cannot connect to {where} ({words})", True
    return reason, False


def _missing_driver(parsed: Any) -> str | None:
    """The driver module ``parsed`` (a SQLAlchemy URL) needs and cannot import, if any."""
    dialect = parsed.get_dialect()
    try:
        (getattr(dialect, "import_dbapi", None) or dialect.dbapi)()  # SQLAlchemy 2 | 1.4
    except ModuleNotFoundError as error:
        return error.name
    except Exception:
        return None
    return None


def _default_port(backend: str) -> int | str:
    return {"postgresql": 5432, "mysql": 3306}.get(backend, "?")


def _engine_kwargs(url: str) -> dict[str, Any]:
    """A connection timeout for PostgreSQL, unless the URL sets its own."""
    if url.startswith("postgresql") and "connect_timeout" not in url:
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


@functools.lru_cache(maxsize=8)
def open_storage(
    url: str, heartbeat_interval: int | None = None, attempts: int = 5
) -> optuna.storages.RDBStorage:
    """One storage per URL and process: the sweeper and in-process trials share it.

    With ``heartbeat_interval`` (the sweeper's), trials whose worker stopped beating
    are failed and queued again (see ``recovery.py``). A storage that cannot be opened
    raises ``StorageError`` naming the problem: a misspelled dialect, a driver not
    installed, a server that does not answer.
    """
    import optuna

    heartbeat: dict[str, Any] = {}
    if heartbeat_interval:
        quiet_heartbeat_warnings()
        heartbeat = {"heartbeat_interval": heartbeat_interval, **retry_callback_kwargs()}
    engine_url = driver_url(url)
    for attempt in range(1, attempts + 1):
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.RDBStorage(
                engine_url, engine_kwargs=_engine_kwargs(engine_url), **heartbeat
            )
        except Exception as error:
            problem, known = storage_problem(engine_url, error)
            if attempt < attempts and any(race in problem for race in _CREATION_RACES):
                time.sleep(0.2 * attempt)
                continue
            raise StorageError(url, problem, known) from None
    raise AssertionError("unreachable")


def sweep_command() -> str:
    """This process' command line, as typed to start the sweep (``python train.py -m ...``)."""
    return " ".join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])


def open_study(
    name: str,
    url: str,
    direction: str,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    heartbeat_interval: int | None = None,
    *,
    metric: str | None = None,
    config_groups: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Create the study, or load it when it exists (a resumed or a second worker).

    With ``metric``, the study names its objective (``study.metric_names``), so the Optuna
    dashboard and plots say ``val/acc``, not "Objective 0"; a study made for another
    metric is refused, as one of the other direction is. The user attributes ``command``
    (this worker's command line) and ``config_groups`` (the config group choices, given as
    ``hydra.runtime.choices``; see ``group_choices``) say how the sweep was started.
    """
    import optuna

    storage = open_storage(url, heartbeat_interval)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=optuna.study.StudyDirection[direction.upper()],
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise TrainlabError(
            f"study {name!r} in {display_url(url)} is {study.direction.name.lower()}d, "
            f"not {direction}d: use another study_name or the same direction"
        )
    if metric is not None:
        name_metric(study, metric, url)
    study.set_user_attr("command", sweep_command())
    if config_groups is not None:
        study.set_user_attr("config_groups", group_choices(config_groups))
    return study


def name_metric(study: optuna.Study, metric: str, url: str) -> None:
    """Set the study's metric name; refuse a study that optimizes another metric."""
    from optuna.exceptions import ExperimentalWarning

    named = study.metric_names
    if named and named != [metric]:
        raise TrainlabError(
            f"study {study.study_name!r} in {display_url(url)} optimizes {named[0]}, "
            f"not {metric}: use another study_name or the same optimized_metric"
        )
    if not named:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            study.set_metric_names([metric])


def group_choices(choices: Mapping[str, Any]) -> dict[str, str | None]:
    """The config groups' chosen options (``data: digits``), as JSON for a user attribute.

    Hydra's groups (``hydra/launcher`` ...) and ``paths`` are left out: they say how and
    where the sweep runs, not what it trains.
    """
    return {
        str(group): None if option is None else str(option)
        for group, option in choices.items()
        if not str(group).startswith("hydra") and str(group) != "paths"
    }


def finished(trial: optuna.trial.FrozenTrial) -> bool:
    """Ran to an outcome: COMPLETE, PRUNED, or FAIL with its ``error`` (``record_failure``).

    A FAIL without one never finished: its worker died (Optuna failed it), it was
    interrupted, or it was released as one too many.
    """
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return (
        trial.state == TrialState.FAIL
        and "error" in trial.user_attrs
        and UNCOUNTED not in trial.user_attrs
    )


def counted_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's trials within ``n_trials``: finished, running, and waiting to run."""
    from optuna.trial import TrialState

    pending = (TrialState.RUNNING, TrialState.WAITING)
    return [t for t in study.get_trials(deepcopy=False) if finished(t) or t.state in pending]


def remaining(study: optuna.Study, n_trials: int) -> int:
    """How many more trials to start: finished and running ones count, waiting ones are to run."""
    from optuna.trial import TrialState

    return n_trials - sum(t.state != TrialState.WAITING for t in counted_trials(study))


def claim(
    study: optuna.Study,
    n_trials: int,
    distributions: dict[str, optuna.distributions.BaseDistribution],
) -> optuna.Trial | None:
    """Ask for a trial, or ``None`` (closing it uncounted) when it is one over ``n_trials``.

    ``study.ask`` takes a waiting trial (one queued to run again) before it samples a
    new one; the waiting trials numbered before this one count, as they run first.
    """
    trial = study.ask(distributions)
    before = [t for t in counted_trials(study) if t.number < trial.number]
    if len(before) < n_trials:
        return trial
    release(study, trial, "another worker took the last trial")
    return None


def close(
    study: optuna.Study,
    trial: optuna.Trial,
    state: optuna.trial.TrialState,
    value: float | None = None,
    attrs: dict[str, Any] | None = None,
) -> bool:
    """Set the user attributes ``attrs`` and tell ``state``; False if the trial was closed already.

    A worker fails a trial whose heartbeat stopped and runs it again (``recovery.py``);
    should the first worker still be alive, its late result is dropped.
    """
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        for key, attr in (attrs or {}).items():
            trial.set_user_attr(key, attr)
        told = study.tell(trial, value, state=state, skip_if_finished=True)
    except UpdateFinishedTrialError:
        told = None
    if told is not None and told.state == state:
        return True
    log.warning(
        "trial %d was failed meanwhile (its heartbeat was late); its re-run counts instead", trial.number
    )
    return False


def release(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Close ``trial`` without a result and without using up the budget."""
    import optuna

    close(study, trial, optuna.trial.TrialState.FAIL, attrs={UNCOUNTED: reason})


def record_failure(study: optuna.Study, trial: optuna.Trial, error: BaseException) -> str:
    """Tell ``trial`` FAIL, keeping the error's first line as the user attribute ``error``.

    A ``TrainlabError`` is kept without its "trainlab: error:" prefix: the message is
    quoted inside the sweep's own report and errors.
    """
    import optuna

    line = next(iter(str(error).strip().splitlines()), "")
    if isinstance(error, TrainlabError):
        message = line.removeprefix(PREFIX)
    else:
        message = f"{type(error).__name__}: {line}"
    close(study, trial, optuna.trial.TrialState.FAIL, attrs={"error": message})
    return message


def summary(study: optuna.Study) -> dict[str, Any]:
    """Counts by state of the trials within ``n_trials`` (see ``counted_trials``)."""
    states: dict[str, int] = {}
    for trial in counted_trials(study):
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    return states
