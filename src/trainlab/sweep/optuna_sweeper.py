"""The Hydra sweeper: asks Optuna for trials, launches them as Hydra jobs, tells the results.

One worker's loop: while the study in the storage has fewer than ``n_trials`` finished
or running trials, claim the next ``n_jobs`` trial(s) (``study.py``; a dead worker's trial
first, ``recovery.py``), launch them together with the configured Hydra launcher
(``launchers.py``: joblib runs them in parallel processes), and tell Optuna each
outcome (``outcome.py``). A run stopped by SIGINT/SIGTERM stops the sweep: its trial is
queued to run again, the report is written, and the exit code is the signal's.
Everything that can be checked is checked before the first trial.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from trainlab.config.resolvers import job_dir
from trainlab.errors import ConfigError, RunInterrupted, TrainlabError, exit_with
from trainlab.sweep.launchers import (
    SignalsToJobs,
    parallel_jobs,
    quiet_announcements,
    runs_elsewhere,
    stop_workers,
)
from trainlab.sweep.outcome import sweep_stopped, tell
from trainlab.sweep.pruning import make_pruner
from trainlab.sweep.recovery import Heartbeat, run_again, trials_to_start
from trainlab.sweep.space import Param, override_value, search_space
from trainlab.sweep.study import (
    StorageError,
    claim,
    display_url,
    driver_url,
    open_storage,
    open_study,
    storage_url,
    summary,
)

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")


def logged_validation_metrics(cfg: DictConfig) -> list[str]:
    """The ``val/...`` names training logs every epoch and returns, from the data's task.

    Loading the data is the only way to know the task (it is read off the data); the
    first trial would load it anyway, and a missing dataset fails here, before it.
    """
    from trainlab.engines.runtime import build_datamodule
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
            f"optimized_metric={metric} is never logged by the run; it logs {', '.join(logged)}{hint}"
        )


def check_not_all_failed(study: Any, states: list[Any]) -> None:
    """A sweep whose every trial failed is an error, with the trials' reasons."""
    from optuna.trial import TrialState

    if not states or any(state != TrialState.FAIL for state in states):
        return
    errors = {t.user_attrs.get("error") for t in study.trials if t.state == TrialState.FAIL}
    reasons = "; ".join(sorted(filter(None, errors)))
    raise TrainlabError(f"all {len(states)} trials of this sweep failed: {reasons}")


class OptunaSweeper(Sweeper):
    """``hydra/sweeper=optuna``: fields as in ``conf/hydra/sweeper/optuna.yaml``."""

    def __init__(
        self,
        study_name: str,
        n_trials: int,
        direction: str = "minimize",
        storage: str | None = None,
        n_jobs: int | None = None,
        sampler: Any = None,
        pruner: str = "none",
        pruners: DictConfig | None = None,
        params: DictConfig | None = None,
        heartbeat_interval: int | None = 60,
    ) -> None:
        self.study_name = str(study_name)
        self.n_trials, self.n_jobs = n_trials, n_jobs
        self.direction, self.storage = str(direction).lower(), storage
        self.sampler, self.pruner, self.pruners = sampler, pruner, pruners
        self.params, self.heartbeat_interval = params, heartbeat_interval
        self.batch = 1  # trials launched together: n_jobs, or what the launcher runs at once
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        quiet_announcements(self.launcher)

    def sweep(self, arguments: list[str]) -> list[Any]:
        try:
            study, space, base, url, metric = self._prepare(arguments)
        except TrainlabError as error:  # bad input: one line, before any trial runs
            exit_with(error, 2)
        assert self.config is not None
        try:
            states, stopped = self._run_trials(study, space, base, url, metric)
        except KeyboardInterrupt:  # Ctrl-C between trials (a claimed trial waits for its heartbeat)
            states, stopped = [], RunInterrupted("SIGINT stopped the sweep", signal.SIGINT)
        finally:
            stop_workers()  # joblib's processes would outlive the sweep by minutes
        self._report(study, Path(self.config.hydra.sweep.dir), metric)
        if stopped is not None:  # the report is written; exit with the signal's code
            exit_with(stopped)
        try:
            check_not_all_failed(study, states)
        except TrainlabError as error:  # the report is written; the exit code says it all failed
            exit_with(error, 1)
        return states

    def _prepare(self, arguments: list[str]) -> tuple[Any, list[Param], list[str], str, str]:
        """Check everything that can be checked, then open (or resume) the study."""
        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        parsed = parser.parse_overrides(arguments)
        plain = [o for o in parsed if not o.is_sweep_override()]
        base = [str(o.input_line) for o in plain]
        fixed = frozenset(o.get_key_element() for o in plain)
        sweeps = [o for o in parsed if o.is_sweep_override()]
        space = search_space(self.params, sweeps, self.config, fixed)
        for name, value in (("n_trials", self.n_trials), ("n_jobs", self.n_jobs)):
            if value is None and name == "n_jobs":  # as many as the launcher runs at once
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TrainlabError(f"hydra.sweeper.{name}={value!r}: expected an integer >= 1")
        launcher = OmegaConf.select(self.config, "hydra.launcher")
        self.batch = self.n_jobs if isinstance(self.n_jobs, int) else parallel_jobs(launcher)
        pruner = make_pruner(self.pruner, self.pruners)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        url = storage_url(self.storage, sweep_dir)
        try:  # unreachable: fails before the data loads
            open_storage(url, self.heartbeat_interval)
        except StorageError as error:
            raise error.for_option("hydra.sweeper.storage") if self.storage else error from None
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created": said below
        metric = self.config.get("optimized_metric")
        check_objective(metric, self.direction, logged_validation_metrics(self.config))
        study = open_study(
            self.study_name,
            url,
            self.direction,
            self.sampler,
            pruner,
            self.heartbeat_interval,
            metric=str(metric),
            config_groups=self.config.hydra.runtime.choices,
        )
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        if study.get_trials(deepcopy=False) and self.sampler is not None:
            study.sampler.reseed_rng()  # a resumed study must not replay its first samples
        log.info(
            "study %s: %s; running up to %d trials%s (pruner: %s); dashboard: optuna-dashboard %s",
            self.study_name,
            summary(study) or "new",
            self.n_trials,
            f", {self.batch} at a time" if self.batch > 1 else "",
            self.pruner,
            display_url(driver_url(url)),  # the driver named: the dashboard may not default to it
        )
        return study, space, base, url, str(metric)

    def _run_trials(
        self, study: Any, space: list[Param], base: list[str], url: str, metric: str
    ) -> tuple[list[Any], RunInterrupted | None]:
        """Run trials until ``n_trials`` are finished or running; the interruption, if any."""
        distributions = {p.key: p.distribution for p in space}
        states: list[Any] = []
        while (need := trials_to_start(study, self.n_trials, self.heartbeat_interval)) > 0:
            claimed = [claim(study, self.n_trials, distributions) for _ in range(min(self.batch, need))]
            trials = [t for t in claimed if t is not None]
            if not trials:  # other workers took them: count again
                continue
            outcomes, received = self._run_batch(study, trials, space, base, url, metric)
            states += [o for o in outcomes if not isinstance(o, RunInterrupted)]
            lost = [
                t.number for t, o in zip(trials, outcomes, strict=True) if isinstance(o, RunInterrupted)
            ]
            if lost:
                first = next(o for o in outcomes if isinstance(o, RunInterrupted))
                return states, sweep_stopped(first, lost)
            if received is not None:  # the jobs had ended before the signal reached them
                name = signal.Signals(received).name
                return states, RunInterrupted(f"{name} stopped the sweep", received)
        return states, None

    def _run_batch(
        self, study: Any, trials: list[Any], space: list[Param], base: list[str], url: str, metric: str
    ) -> tuple[list[Any], int | None]:
        """Launch one batch of claimed trials, beating their heartbeat; each one's outcome,
        and the stop signal that came while jobs ran in other processes, if any.
        """
        storage = open_storage(url, self.heartbeat_interval)
        signals = SignalsToJobs(runs_elsewhere(self.launcher))
        with Heartbeat(storage, study.study_name, trials, self.heartbeat_interval):
            batch = [self._job_overrides(trial, space, base, url) for trial in trials]
            for trial, overrides in zip(trials, batch, strict=True):
                trial.set_user_attr("overrides", overrides[: len(base) + len(space)])
            try:
                with signals:
                    returns: list[Any] = list(
                        self.launcher.launch(batch, initial_job_idx=trials[0].number)
                    )
            except KeyboardInterrupt:  # Ctrl-C outside a run's own signal handling
                returns = [RunInterrupted("SIGINT stopped the sweep", signal.SIGINT)] * len(trials)
            except SystemExit:  # e.g. Lightning's exit(1) after a KeyboardInterrupt
                for trial in trials:
                    run_again(study, trial, "the sweep exited")
                raise
            except Exception as error:  # a job that could not even be composed
                returns = [error] * len(trials)
        outcomes = [tell(study, trial, ret, metric) for trial, ret in zip(trials, returns, strict=True)]
        return outcomes, signals.received

    def _job_overrides(self, trial: Any, space: list[Param], base: list[str], url: str) -> list[str]:
        params = [p.override(trial.params[p.key]) for p in space]
        # <trial number>_<its parameters>: unique across workers, and says what was tried.
        subdir = job_dir(trial.number, ",".join(sorted(params)))
        return [
            *base,
            *params,
            f"++trial.storage={override_value(url)}",
            f"++trial.study_name={override_value(self.study_name)}",
            f"++trial.number={trial.number}",
            f"hydra.sweep.subdir={override_value(subdir)}",
        ]

    def _report(self, study: Any, sweep_dir: Path, metric: str) -> None:
        from trainlab.sweep.report import write_report

        program = Path(sys.argv[0]).name
        write_report(
            study, sweep_dir, metric, f"python {program}" if program.endswith(".py") else program
        )
