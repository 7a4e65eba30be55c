"""What the sweeper needs from Hydra's launchers: how many trials run at once, quiet
announcements, and no worker process left behind.

``hydra/launcher=joblib`` (hydra-joblib-launcher) runs each batch of trials in worker
processes of this machine; ``submitit_local`` and ``submitit_slurm``
(hydra-submitit-launcher, ``trainlab[cluster]``) run each trial as a job of its own. A
trial reaches its study through its overrides (``trial.storage`` ...), never through
the sweeper's memory, so pruning and the run directories are the same in all of them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

from omegaconf import OmegaConf

#: A launcher's announcement of each batch and each job's overrides: the sweeper prints
#: one line per trial when it ends instead (``outcome.trial_line``).
LAUNCH_LINES = re.compile(
    "|".join(
        (
            r"^Launching \d+ jobs? locally",  # basic
            r"^Joblib\.Parallel\(.*\) is launching \d+ jobs?",  # joblib
            r"^Launching jobs, sweep output dir : ",  # joblib
            r"^Submitit '\w+' sweep output dir : ",  # submitit
            r"^\s*#\d+ : ",  # every launcher: a job's overrides
        )
    )
)


class LaunchLines(logging.Filter):
    """Drops the launcher's INFO lines in ``LAUNCH_LINES``; warnings always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not LAUNCH_LINES.match(record.getMessage())


def quiet_announcements(launcher: Any) -> None:
    """Filter ``LAUNCH_LINES`` out of the launcher's loggers.

    A logger's filter does not see its children's records, so each logger that announces
    gets one: the launcher's module and, for joblib, its package's ``_core``.
    """
    module = type(launcher).__module__
    for name in (module, f"{module.rpartition('.')[0]}._core"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, LaunchLines) for f in logger.filters):
            logger.addFilter(LaunchLines())


def parallel_jobs(launcher_config: Any) -> int:
    """How many jobs the launcher runs at once: joblib's ``n_jobs``, else 1.

    A negative ``n_jobs`` counts from the cores as joblib does: -1 every core, -2 all but one.
    """
    n_jobs = (
        OmegaConf.select(launcher_config, "n_jobs") if OmegaConf.is_config(launcher_config) else None
    )
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        return 1
    if n_jobs > 0:
        return n_jobs
    from joblib import cpu_count  # type: ignore[import-untyped]  # affinity and cgroup quota too

    return max(1, int(cpu_count()) + 1 + n_jobs)


_stopped: list[bool] = []  # once joblib's workers were stopped here


def stop_workers() -> bool:
    """Stop the worker processes of joblib's launcher; whether joblib ran jobs in this process.

    joblib keeps them for the next batch and for 300 s after the last; when the sweep
    ends they would hold memory and the terminal's (or a calling program's) output pipe
    open. Its temporary folders are deleted by its exit handlers: a process that ran
    joblib must exit through them (``sys.exit``, not ``os._exit``).
    """
    # scikit-learn imports joblib in every run: only live workers say that it ran jobs here
    if "joblib.externals.loky.reusable_executor" in sys.modules and any(
        type(child).__name__ == "LokyProcess" for child in multiprocessing.active_children()
    ):
        from joblib.externals.loky import get_reusable_executor  # type: ignore[import-untyped]

        executor = get_reusable_executor(reuse=True)
        getattr(executor, "terminate", executor.shutdown)()  # joblib's also deletes what it can
        _stopped.append(True)
    return bool(_stopped)


def runs_elsewhere(launcher: Any) -> bool:
    """Whether the launcher runs jobs outside this process (all but Hydra's basic launcher)."""
    return type(launcher).__name__ != "BasicLauncher"


class SignalsToJobs:
    """While a batch runs in other processes, its jobs handle SIGINT and SIGTERM, not the sweeper.

    Ctrl-C reaches the whole process group, the jobs included: each stops after its
    step in flight (``last`` checkpoint, ``run.json`` interrupted) and reports back, so
    the sweeper waits for them instead of aborting them; a second Ctrl-C aborts at once.
    SIGTERM (a scheduler's) reaches this process alone: it is passed on to the worker
    processes. ``received`` is the signal, for the sweep to stop after the batch.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalsToJobs:
        if self.enabled:
            self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._interrupt)
            self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._terminate)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _interrupt(self, number: int, frame: FrameType | None) -> None:
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = number
        if not multiprocessing.active_children():  # jobs elsewhere (submitit): none said it
            self._say(number)

    def _terminate(self, number: int, frame: FrameType | None) -> None:
        self.received = number
        workers = multiprocessing.active_children()  # joblib's
        for worker in workers:
            if worker.pid is not None:
                os.kill(worker.pid, number)
        if not workers:
            self._say(number)

    @staticmethod
    def _say(number: int) -> None:
        name = signal.Signals(number).name
        print(
            f"trainlab: {name} received: the sweep stops when its trials in flight end "
            "(Ctrl-C again to stop waiting)",
            file=sys.stderr,
            flush=True,
        )
