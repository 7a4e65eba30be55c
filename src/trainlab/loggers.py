"""Lightning's ``TensorBoardLogger`` with the epoch on the x-axis.

Lightning steps epoch-level metrics by optimizer steps and adds an ``epoch`` scalar (a
staircase) to place them. trainlab logs once per epoch, so the curves use the epoch
(counted from 1) as their step: runs with different data sizes or batch sizes line up,
and no ``epoch`` scalar is needed.

Lightning calls ``save`` after every ``log_metrics``, and the TensorBoard logger's
``save`` flushes the event file: with millisecond epochs that flush is most of an
epoch's cost. Here it flushes at most every ``flush_seconds`` (and when the run ends),
so a dashboard still sees a running run's curves within seconds.

The epochs' metrics wait for that flush too (``trainlab.epoch_scalars``), and a fit
that ends or fails writes what waits (``finalize``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from typing_extensions import override

from trainlab.epoch_scalars import WaitingScalars


class EpochTensorBoardLogger(TensorBoardLogger):
    """Logs each epoch's metrics at step ``epoch + 1``; ``purge_step`` counts epochs too."""

    def __init__(self, *args: Any, flush_seconds: float = 2.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scalars = WaitingScalars(super().log_metrics, super().save, flush_seconds)

    @override
    @rank_zero_only
    def save(self) -> None:
        self._scalars.write_if_due()

    @override
    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        metrics = dict(metrics)
        epoch = metrics.pop("epoch", None)
        self._scalars.add(metrics, int(epoch) + 1 if epoch is not None else step)

    @rank_zero_only
    def write_waiting(self) -> None:
        """Write what waits now: a checkpoint being saved records these epochs, and a run
        resumed from it must find them in the event file (its ``purge_step`` drops the rest).
        """
        self._scalars.write_all()

    @override
    @rank_zero_only
    def finalize(self, status: str) -> None:
        self._scalars.write_all()
        super().finalize(status)
