"""User-facing errors: one line on stderr, a non-zero exit, no traceback.

Every mistake a user can fix is a ``TrainlabError`` whose message is the whole report;
``exit_with`` is the one place that prints it and ends the process. The classes
subclass Hydra's ``CompactHydraException``, so where Hydra reports an error itself (a
multirun job) it prints just the message too (the traceback with ``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from hydra.errors import CompactHydraException

from trainlab.usage import PREFIX


class TrainlabError(CompactHydraException):
    """An error the user can fix; its message is the whole report."""

    def __str__(self) -> str:
        return PREFIX + super().__str__()


class ConfigError(TrainlabError):
    """A config value that cannot work (bad type, out of range, unknown name)."""


class DataError(TrainlabError):
    """A dataset that is missing, corrupt or cannot be downloaded."""


class CheckpointError(TrainlabError):
    """A checkpoint that does not exist or does not belong to a trainlab run."""


class WriteError(TrainlabError):
    """A result file could not be written (disk full, read-only); the previous one is kept."""


class NonFiniteLossError(TrainlabError):
    """The training loss became NaN or infinite: the run stops, checkpoints stay."""

    @classmethod
    def in_epoch(cls, epoch: int, checkpoint_dir: Path | None, suffix: str) -> NonFiniteLossError:
        """The one message both engines give; ``epoch`` counts from 1."""
        saved = sorted(checkpoint_dir.glob(f"*{suffix}")) if checkpoint_dir else []
        kept = f"; kept {', '.join(str(p) for p in saved)}" if saved else ""
        return cls(
            f"the training loss became NaN/inf in epoch {epoch}; "
            f"the run stopped (lower optimizer.lr or scale the data){kept}"
        )


class RunInterrupted(TrainlabError):
    """SIGINT or SIGTERM stopped a run after its current step; ``last`` checkpoint written.

    The process exits with the shell's code for the signal: 130 (SIGINT), 143 (SIGTERM).
    """

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.signal_number = signal_number

    def __reduce__(self) -> tuple[Any, ...]:  # a job in a worker process sends it back
        return (type(self), (self.args[0], self.signal_number))

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number


def exit_with(error: TrainlabError, code: int | None = None) -> NoReturn:
    """Print ``error`` as its one line on stderr and exit with ``code``.

    Without ``code``: the signal's code for an interrupted run, else 1.
    """
    print(error, file=sys.stderr, flush=True)
    if code is None:
        code = error.exit_code if isinstance(error, RunInterrupted) else 1
    sys.exit(code)
