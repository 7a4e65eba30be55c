"""What a task means for training: its loss, its metrics and its predictions.

Models output raw scores (logits for classification); each task turns them into a
loss and into predictions, so one LightningModule serves every task.

A task's metrics are ratios of totals over a split (correct predictions over samples,
summed errors over elements). ``metrics()`` gives them as torchmetrics objects, for code
that scores predictions once (the baselines); ``totals`` and ``from_totals`` give the
same numbers from a few running sums, which is what a training engine keeps per epoch
(``trainlab.engines.lightning.totals``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric
from torchmetrics.classification import BinaryAccuracy, MulticlassAccuracy

from trainlab.data.base import DataSpec


@dataclass(frozen=True)
class Task:
    num_outputs: int
    monitor_mode = "min"

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self) -> dict[str, Metric]:
        """Fresh torchmetrics objects, keyed by the name they are logged under."""
        raise NotImplementedError

    def metric_inputs(self, output: torch.Tensor) -> torch.Tensor:
        """What ``metrics()`` compare with the target (probabilities or values)."""
        return output

    #: How many sums (floating point) and counts (int64) ``totals`` returns.
    total_sizes: ClassVar[tuple[int, int]] = (0, 0)

    def totals(
        self, output: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The batch's sums and counts (None: the task has none); summed over batches,
        ``from_totals`` makes them the metrics.
        """
        raise NotImplementedError

    def from_totals(
        self, sums: torch.Tensor, counts: torch.Tensor, samples: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The metrics (the keys of ``metrics()``) of summed ``totals`` over ``samples``."""
        raise NotImplementedError

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """Class labels for classification, values for regression."""
        return output

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Each class's probability, (N, classes); how sure a prediction was."""
        raise NotImplementedError(f"{type(self).__name__} has no classes")


class Classification(Task):
    """Accuracy: the predictions (``predict``) equal to the labels, over the samples."""

    total_sizes = (0, 1)  # the correct predictions

    def totals(
        self, output: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return None, (self.predict(output) == target).sum().reshape(1)

    def from_totals(
        self, sums: torch.Tensor, counts: torch.Tensor, samples: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"acc": counts[0] / samples}


@dataclass(frozen=True)
class Multiclass(Classification):
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def metrics(self) -> dict[str, Metric]:
        return {"acc": MulticlassAccuracy(self.num_outputs, average="micro")}

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        return output.argmax(dim=1)

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        return torch.softmax(output, dim=1)


@dataclass(frozen=True)
class Binary(Classification):
    """One sigmoid output, or two on one-hot targets (the lesson's Dense(2, sigmoid))."""

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.num_outputs == 1:
            return F.binary_cross_entropy_with_logits(output.squeeze(1), target.float())
        return F.binary_cross_entropy_with_logits(output, F.one_hot(target, 2).float())

    def metrics(self) -> dict[str, Metric]:
        if self.num_outputs == 1:
            return {"acc": BinaryAccuracy()}
        return {"acc": MulticlassAccuracy(2, average="micro")}

    def metric_inputs(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output.squeeze(1)) if self.num_outputs == 1 else output

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        if self.num_outputs == 1:
            return (output.squeeze(1) > 0).long()
        return output.argmax(dim=1)

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Two columns either way; with two sigmoid outputs each is its own class's score."""
        positive = torch.sigmoid(output)
        return torch.cat([1 - positive, positive], dim=1) if self.num_outputs == 1 else positive


@dataclass(frozen=True)
class Regression(Task):
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def metrics(self) -> dict[str, Metric]:
        return {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False)}

    total_sizes = (2, 0)  # the absolute and the squared errors

    def totals(
        self, output: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        error = (output - target).float()
        return torch.stack([error.abs().sum(), error.square().sum()]), None

    def from_totals(
        self, sums: torch.Tensor, counts: torch.Tensor, samples: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        values = samples * self.num_outputs  # every output is compared with its target
        return {"mae": sums[0] / values, "rmse": torch.sqrt(sums[1] / values)}


def make_task(spec: DataSpec) -> Task:
    kind = {"multiclass": Multiclass, "binary": Binary, "regression": Regression}[spec.task]
    return kind(spec.num_outputs)
