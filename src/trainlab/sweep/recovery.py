"""Trials that never reached an outcome run again: a killed worker's, an interrupted one.

A worker that is killed leaves its trial RUNNING in the storage. The sweeper records
a heartbeat for each trial it runs (``Heartbeat``); a trial silent for the grace
period (two heartbeat intervals) is failed by ``optuna.storages.fail_stale_trials``,
and Optuna's retry callback queues it again, WAITING with the same parameters (its
system attribute ``failed_trial`` names the original). The next ``study.ask`` of any
worker takes it first, and it counts toward ``n_trials`` in place of the dead one.

A rerun started right after a kill finds the dead trial still RUNNING, and cannot tell
it from another live worker's trial but by waiting: it waits, at most the grace period,
until the trial either ends (a live worker finished it) or goes stale (it is run here).
A trial stopped by SIGINT/SIGTERM is closed as ``interrupted`` and queued again the
same way, so the next invocation runs it first.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from trainlab.sweep.study import close, finished, remaining, retry_callback

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
POLL_S = 1.0
# SQLite stamps heartbeats in whole seconds: a trial goes stale up to a second late.
MARGIN_S = 2.0


def run_again(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Close ``trial`` as interrupted (not counted) and queue it again with its parameters."""
    from optuna.trial import TrialState

    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
    if frozen.state != TrialState.RUNNING:  # told already, or failed stale and queued by another worker
        return
    retry_callback()(study, frozen)
    close(study, trial, TrialState.FAIL, attrs={INTERRUPTED: reason})


def running_numbers(study: optuna.Study) -> set[int]:
    from optuna.trial import TrialState

    return {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}


def trials_to_start(study: optuna.Study, n_trials: int, heartbeat_interval: int | None) -> int:
    """How many trials to start now, after failing (and queueing again) the stale ones.

    When none is left to start but RUNNING trials keep the study short of ``n_trials``
    finished ones, wait until they end or go stale. Trials still RUNNING after the grace
    period have a live worker, which finishes them.
    """
    import optuna

    waited = False
    while True:
        optuna.storages.fail_stale_trials(study)
        need = remaining(study, n_trials)
        watched = running_numbers(study)
        if need > 0 or not heartbeat_interval or not watched or count_finished(study) >= n_trials:
            return need
        grace = 2 * heartbeat_interval
        if not waited:
            log.info(
                "waiting up to %d s for trial(s) %s of another worker: if it was killed, they run here",
                grace,
                ", ".join(map(str, sorted(watched))),
            )
            waited = True
        deadline = time.monotonic() + grace + MARGIN_S
        while watched & running_numbers(study) and remaining(study, n_trials) <= 0:
            if time.monotonic() > deadline:
                log.info(
                    "trial(s) %s still beat: their worker finishes them",
                    ", ".join(map(str, sorted(watched))),
                )
                return 0
            time.sleep(POLL_S)
            optuna.storages.fail_stale_trials(study)


def count_finished(study: optuna.Study) -> int:
    return sum(finished(t) for t in study.get_trials(deepcopy=False))


class Heartbeat:
    """While the ``with`` block runs, record a heartbeat for ``trials`` every ``interval`` s."""

    def __init__(
        self,
        storage: optuna.storages.RDBStorage,
        study_name: str,
        trials: list[optuna.Trial],
        interval: int | None,
    ) -> None:
        self.interval = interval
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
