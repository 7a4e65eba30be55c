"""A stage's epoch metrics as running totals: one torchmetrics ``Metric`` per stage.

A full-batch lesson's epoch is one optimizer step and one validation forward: a few
milliseconds for a small network on a CPU. A ``MetricCollection`` of a ``MeanMetric``
and the task's torchmetrics costs a good part of that to update, compute and reset,
for every stage and epoch: each metric validates its inputs, guards its compute and
resets its own states (``docs/results.md`` has the profile). Every metric the tasks log
is a ratio of sums (the loss weighted by samples, correct predictions, summed errors),
so one ``Metric`` holding the sums (``Task.totals``) gives the same numbers for less.
It is still torchmetrics that keeps the state, moves it with the module, and sums it
across DDP ranks before each compute.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric

from trainlab.tasks import Task


class EpochTotals(Metric):
    """``sums``: the summed loss (each step's mean times its samples), then the task's
    sums; ``counts``: the samples, then the task's counts. ``compute()`` gives
    ``{"loss": ..., **task metrics}``.

    Updated in place, with as few tensor operations as the task needs: on a CPU each
    small one costs microseconds, and a full-batch epoch takes only a few milliseconds.
    """

    full_state_update = False
    sums: torch.Tensor
    counts: torch.Tensor

    def __init__(self, task: Task, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task = task
        float_sums, int_counts = task.total_sizes
        sums = torch.zeros(1 + float_sums, dtype=torch.get_default_dtype())
        self.add_state("sums", default=sums, dist_reduce_fx="sum")
        self.add_state(
            "counts", default=torch.zeros(1 + int_counts, dtype=torch.long), dist_reduce_fx="sum"
        )

    def update(
        self, loss_sum: torch.Tensor, samples: int, outputs: torch.Tensor, targets: torch.Tensor
    ) -> None:
        """Steps' summed loss over their ``samples``, and their outputs and targets."""
        self.sums[0] += loss_sum  # in place: the states are never reassigned
        self.counts[0] += samples
        sums, counts = self.task.totals(outputs, targets)
        if sums is not None:
            self.sums[1:] += sums
        if counts is not None:
            self.counts[1:] += counts

    def compute(self) -> dict[str, torch.Tensor]:
        samples = self.counts[0]
        metrics = self.task.from_totals(self.sums[1:], self.counts[1:], samples)
        return {"loss": self.sums[0] / samples, **metrics}

    def state(self) -> dict[str, torch.Tensor]:
        return {"sums": self.sums.clone(), "counts": self.counts.clone()}

    def restore(self, state: dict[str, torch.Tensor], device: torch.device) -> None:
        self.sums, self.counts = state["sums"].to(device), state["counts"].to(device)

    def running_loss(self) -> tuple[float, int]:
        """The summed loss and the samples so far, unsynced (one host sync: for the progress bar)."""
        return float(self.sums[0]), int(self.counts[0])


class StepRecords:
    """The detached loss, sample count, outputs and targets of steps not yet in the totals."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.counts: list[int] = []
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, loss: torch.Tensor, count: int, output: torch.Tensor, target: torch.Tensor) -> None:
        self.losses.append(loss)
        self.counts.append(count)
        self.outputs.append(output)
        self.targets.append(target)

    def take(self) -> tuple[torch.Tensor, int, torch.Tensor, torch.Tensor]:
        """The kept steps' summed loss, samples, outputs and targets; then empty.

        One step (a full-batch epoch) is handed on as it is, without copies.
        """
        if len(self) == 1:
            loss_sum, outputs, targets = (
                self.losses[0] * self.counts[0],
                self.outputs[0],
                self.targets[0],
            )
        else:
            loss_sum = self._weighted_sum()
            outputs, targets = torch.cat(self.outputs), torch.cat(self.targets)
        samples = sum(self.counts)
        self.clear()
        return loss_sum, samples, outputs, targets

    def loss_sum(self) -> tuple[float, int]:
        """The summed loss and samples of the kept steps (one host sync)."""
        if not len(self):
            return 0.0, 0
        return float(self._weighted_sum()), sum(self.counts)

    def _weighted_sum(self) -> torch.Tensor:
        """Each kept step's mean loss times its samples, summed, on the loss's device."""
        losses = torch.stack(self.losses)
        weights = torch.tensor(self.counts, dtype=losses.dtype).to(losses.device, non_blocking=True)
        return (losses * weights).sum()

    def state(self) -> dict[str, list[Any]]:
        return {
            "losses": self.losses,
            "counts": self.counts,
            "outputs": self.outputs,
            "targets": self.targets,
        }

    def restore(self, state: dict[str, list[Any]], device: torch.device) -> None:
        self.losses = [t.to(device) for t in state["losses"]]
        self.counts = list(state["counts"])
        self.outputs = [t.to(device) for t in state["outputs"]]
        self.targets = [t.to(device) for t in state["targets"]]
