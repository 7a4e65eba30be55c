"""Heartbeats for the trials a worker is running, so a dead worker's trials are retried.

A worker that is killed leaves its trial RUNNING in the storage. With Optuna's
heartbeat, the storage knows when a running trial was last vouched for; any worker
calls ``optuna.storages.fail_stale_trials`` before it claims trials, which fails the
silent ones and (``RetryHeartbeatStaleTrialCallback``) enqueues them again with the
same parameters. The beat comes from the sweeper, not from the job, so it works
whatever the launcher runs the job on.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


@functools.cache
def quiet_heartbeat_warnings() -> None:
    """Optuna flags its heartbeat API as experimental, once per call: once per sweep is enough."""
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", r"(?i).*(heartbeat|fail_stale_trials)", ExperimentalWarning)
    warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")


def retry_callback_kwargs() -> dict[str, object]:
    """Optuna's retry-stale-trials callback under the name this Optuna version uses."""
    import optuna

    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry is not None:
        return {"heartbeat_stale_trial_callback": retry()}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback()}


def retried_numbers(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of the stale trials that were enqueued again (their retry counts instead)."""
    from optuna.storages import RetryFailedTrialCallback

    quiet_heartbeat_warnings()
    numbers = (RetryFailedTrialCallback.retried_trial_number(t) for t in trials)
    return {n for n in numbers if n is not None}


class Heartbeat:
    """While the ``with`` block runs, record a heartbeat for ``trials`` every ``interval`` s."""

    def __init__(
        self,
        storage: optuna.storages.BaseStorage,
        study_name: str,
        trials: list[optuna.Trial],
        interval: int | None,
    ) -> None:
        self.interval = interval if hasattr(storage, "record_heartbeat") else None
        self._storage = storage
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids: list[int] = []
        if self.interval:
            study_id = storage.get_study_id_from_name(study_name)
            for trial in trials:
                self._ids.append(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))

    def _beat(self) -> None:
        while True:
            for trial_id in self._ids:
                try:
                    self._storage.record_heartbeat(trial_id)
                except Exception as error:  # a busy database: the next beat will do
                    log.debug("heartbeat of trial id %d skipped: %s", trial_id, error)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Heartbeat:
        if self.interval:
            self._thread = threading.Thread(target=self._beat, name="trial-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
