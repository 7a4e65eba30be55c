"""``run.json``: what a run is and how it ended, for people and for ``python -m trainlab.runs``.

Written when training starts (``status: running``, the process id and host, so a run
whose process died shows as killed) and rewritten when it ends: the status, why training
stopped, the epochs run and the best epoch. ``metrics.json`` beside it keeps the numbers.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from trainlab.run import write_atomically

RUN_FILE = "run.json"
RUNNING, FINISHED, STOPPED_EARLY = "running", "finished", "stopped_early"
PRUNED, FAILED, INTERRUPTED = "pruned", "failed", "interrupted"
STATUSES = (RUNNING, FINISHED, STOPPED_EARLY, PRUNED, FAILED, INTERRUPTED)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _choices() -> dict[str, Any]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return dict(HydraConfig.get().runtime.choices)


def command_line() -> str:
    """The command that reruns this job: ``python train.py`` and the job's own overrides.

    For a sweep's job these are the job's overrides, not the sweep's command line, and
    without the ``trial.*`` ones that tie it to its Optuna trial (a rerun is a plain run).
    """
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    kept = [o for o in overrides if not o.lstrip("+~").startswith("trial.")]
    return shlex.join(["python", "train.py", *kept])


@dataclass(frozen=True)
class RunRecord:
    """The fields of ``run.json`` (see ``python -m trainlab.runs``)."""

    name: str
    command: str
    data: str | None
    model: str | None
    engine: str | None
    experiment: str | None
    seed: int | None
    monitor: str | None
    max_epochs: int | None
    status: str = RUNNING
    started: str = field(default_factory=_now)
    ended: str | None = None
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    epochs: int = 0
    best_epoch: int | None = None
    stop_reason: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, cfg: DictConfig) -> RunRecord:
        """A new run of ``cfg`` (its group choices come from Hydra)."""
        from trainlab.config.resolvers import run_name

        choices = _choices()
        max_epochs = cfg.trainer.get("max_epochs") if cfg.get("trainer") else None
        return cls(
            name=run_name(cfg.get("name"), choices),
            command=command_line(),
            data=choices.get("data"),
            model=choices.get("model"),
            engine=choices.get("engine"),
            experiment=choices.get("experiment"),
            seed=cfg.get("seed"),
            monitor=cfg.get("monitor"),
            max_epochs=int(max_epochs) if max_epochs is not None else None,
        )

    def ended_as(self, status: str, epochs: int, best_epoch: int | None, reason: str) -> RunRecord:
        error = reason if status == FAILED else None
        return replace(
            self,
            status=status,
            ended=_now(),
            epochs=epochs,
            best_epoch=best_epoch,
            stop_reason=reason,
            error=error,
        )

    def write(self, run_dir: str | Path) -> Path:
        text = json.dumps(asdict(self), indent=2) + "\n"
        return write_atomically(Path(run_dir) / RUN_FILE, lambda path: path.write_text(text))


def read_record(run_dir: str | Path) -> dict[str, Any] | None:
    """``run.json`` of ``run_dir`` as a dict; None if it is missing or unreadable."""
    try:
        record = json.loads((Path(run_dir) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
