"""User-facing errors: one line on stderr, a non-zero exit, no traceback.

They subclass Hydra's ``CompactHydraException`` so that Hydra's own error reporting
prints just the message, in single runs and in multirun jobs alike (and the full
traceback when ``HYDRA_FULL_ERROR=1`` is set).
"""

from __future__ import annotations

from hydra.errors import CompactHydraException


class TrainlabError(CompactHydraException):
    """An error the user can fix; its message is the whole report."""

    def __str__(self) -> str:
        return f"trainlab: error: {super().__str__()}"


class ConfigError(TrainlabError):
    """A config value that cannot work (bad type, out of range, unknown name)."""


class DataError(TrainlabError):
    """A dataset that is missing, corrupt or cannot be downloaded."""


class CheckpointError(TrainlabError):
    """A checkpoint that does not exist or does not belong to a trainlab run."""


class NonFiniteLossError(TrainlabError):
    """The training loss became NaN or infinite: the run stops, checkpoints stay."""
