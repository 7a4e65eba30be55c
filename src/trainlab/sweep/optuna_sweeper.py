"""The Hydra sweeper: asks Optuna for trials, launches them as Hydra jobs, tells the results.

One worker's loop: while the study in the storage has fewer than ``n_trials`` trials,
claim the next trial(s) (see ``study.py``), launch them with the configured Hydra
launcher, and tell Optuna each result: COMPLETE with ``optimized_metric``, PRUNED when
the job raised ``optuna.TrialPruned`` (from ``pruning.py``), FAIL with the error
otherwise. Everything that can be checked is checked before the first trial.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from trainlab.errors import TrainlabError
from trainlab.sweep.heartbeat import Heartbeat
from trainlab.sweep.objective import check_objective, logged_validation_metrics, objective_value
from trainlab.sweep.pruners import make_pruner
from trainlab.sweep.space import Param, override_value, search_space
from trainlab.sweep.study import (
    claim,
    display_url,
    open_storage,
    open_study,
    record_failure,
    release,
    remaining,
    storage_url,
    summary,
)

log = logging.getLogger(__name__)


class OptunaSweeper(Sweeper):
    """``hydra/sweeper=optuna``: fields as in ``conf/hydra/sweeper/optuna.yaml``."""

    def __init__(
        self,
        study_name: str,
        n_trials: int,
        direction: str = "minimize",
        storage: str | None = None,
        n_jobs: int = 1,
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

    def sweep(self, arguments: list[str]) -> list[Any]:
        try:
            study, space, base, url, metric = self._prepare(arguments)
        except TrainlabError as error:  # bad input: one line, before any trial runs
            print(error, file=sys.stderr)
            sys.exit(2)
        assert self.config is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        states = self._run_trials(study, space, base, url, metric)
        self._report(study, sweep_dir, metric, states)
        return states

    def _prepare(self, arguments: list[str]) -> tuple[Any, list[Param], list[str], str, str]:
        """Check everything that can be checked, then open (or resume) the study."""
        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        parsed = parser.parse_overrides(arguments)
        plain = [o for o in parsed if not o.is_sweep_override()]
        base = [o.input_line for o in plain]
        fixed = frozenset(o.get_key_element() for o in plain)
        sweeps = [o for o in parsed if o.is_sweep_override()]
        space = search_space(self.params, sweeps, self.config, fixed)
        for name, value in (("n_trials", self.n_trials), ("n_jobs", self.n_jobs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TrainlabError(f"hydra.sweeper.{name}={value!r}: expected an integer >= 1")
        pruner = make_pruner(self.pruner, self.pruners)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        url = storage_url(self.storage, sweep_dir)
        open_storage(url, self.heartbeat_interval)  # unreachable: fails before the data loads
        metric = self.config.get("optimized_metric")
        check_objective(metric, self.direction, logged_validation_metrics(self.config))
        study = open_study(
            self.study_name, url, self.direction, self.sampler, pruner, self.heartbeat_interval
        )
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        if study.get_trials(deepcopy=False) and self.sampler is not None:
            study.sampler.reseed_rng()  # a resumed study must not replay its first samples
        log.info(
            "study %s in %s: %s; running up to %d trials (pruner: %s; dashboard: optuna-dashboard %s)",
            self.study_name,
            display_url(url),
            summary(study) or "new",
            self.n_trials,
            self.pruner,
            display_url(url),
        )
        return study, space, base, url, str(metric)

    def _run_trials(
        self, study: Any, space: list[Param], base: list[str], url: str, metric: str
    ) -> list[Any]:
        import optuna

        distributions = {p.key: p.distribution for p in space}
        states: list[Any] = []
        while True:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trials run again
            need = remaining(study, self.n_trials)
            if need <= 0:
                break
            trials = [claim(study, self.n_trials, distributions) for _ in range(min(self.n_jobs, need))]
            trials = [t for t in trials if t is not None]
            if not trials:
                break
            batch = [self._job_overrides(trial, space, base, url) for trial in trials]
            for trial, overrides in zip(trials, batch, strict=True):
                trial.set_user_attr("overrides", overrides[: len(base) + len(space)])
            try:
                storage = open_storage(url, self.heartbeat_interval)
                with Heartbeat(storage, study.study_name, trials, self.heartbeat_interval):
                    returns = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            except (KeyboardInterrupt, SystemExit):  # Ctrl-C (Lightning turns it into exit(1))
                for trial in trials:
                    release(study, trial, "interrupted")
                raise
            except Exception as error:  # a job that could not even be composed
                returns = [error] * len(trials)
            for trial, ret in zip(trials, returns, strict=True):
                states.append(self._tell(study, trial, ret, metric))
        return states

    def _job_overrides(self, trial: Any, space: list[Param], base: list[str], url: str) -> list[str]:
        return [
            *base,
            *(p.override(trial.params[p.key]) for p in space),
            f"++trial.storage={override_value(url)}",
            f"++trial.study_name={override_value(self.study_name)}",
            f"++trial.number={trial.number}",
            f"hydra.sweep.subdir=trial_{trial.number}",
        ]

    @staticmethod
    def _tell(study: Any, trial: Any, ret: Any, metric: str) -> Any:
        """Record one job's outcome; returns the trial's final state."""
        import optuna
        from optuna.trial import TrialState

        try:
            if isinstance(ret, BaseException):
                raise ret
            if ret.status == JobStatus.FAILED:  # ``ret.return_value`` would print a line first
                raise ret._return_value
            value = objective_value(ret.return_value, metric)
        except optuna.TrialPruned as pruned:
            log.info("trial %d pruned: %s", trial.number, pruned)
            study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        except Exception as error:
            message = record_failure(study, trial, error)
            log.warning("trial %d failed: %s", trial.number, message)
            return TrialState.FAIL
        study.tell(trial, value)
        best = study.best_trial
        log.info("trial %d: %s=%.4f (best %.4f)", trial.number, metric, value, best.value)
        return TrialState.COMPLETE

    def _report(self, study: Any, sweep_dir: Path, metric: str, states: list[Any]) -> None:
        from optuna.trial import TrialState

        from trainlab.sweep.report import write_report

        program = Path(sys.argv[0]).name
        write_report(
            study, sweep_dir, metric, f"python {program}" if program.endswith(".py") else program
        )
        if states and all(state == TrialState.FAIL for state in states):
            errors = {t.user_attrs.get("error") for t in study.trials if t.state == TrialState.FAIL}
            reasons = "; ".join(sorted(filter(None, errors)))
            print(
                f"trainlab: error: all {len(states)} trials of this sweep failed: {reasons}",
                file=sys.stderr,
            )
            sys.exit(1)
