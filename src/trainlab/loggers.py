"""Lightning's ``TensorBoardLogger`` with the epoch on the x-axis.

Lightning steps epoch-level metrics by optimizer steps and adds an ``epoch`` scalar (a
staircase) to place them. trainlab logs once per epoch, so the curves use the epoch
(counted from 1) as their step: runs with different data sizes or batch sizes line up,
and no ``epoch`` scalar is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from typing_extensions import override


class EpochTensorBoardLogger(TensorBoardLogger):
    """Logs each epoch's metrics at step ``epoch + 1``; ``purge_step`` counts epochs too."""

    @override
    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        metrics = dict(metrics)
        epoch = metrics.pop("epoch", None)
        super().log_metrics(metrics, int(epoch) + 1 if epoch is not None else step)
