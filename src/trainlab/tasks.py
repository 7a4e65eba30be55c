"""What a task means for training: its loss, its metrics and its predictions.

Models output raw scores (logits for classification); each task turns them into a
loss and into predictions, so one LightningModule serves every task.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        """What the metrics compare with the target (probabilities or values)."""
        return output

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """Class labels for classification, values for regression."""
        return output

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Each class's probability, (N, classes); how sure a prediction was."""
        raise NotImplementedError(f"{type(self).__name__} has no classes")


@dataclass(frozen=True)
class Multiclass(Task):
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def metrics(self) -> dict[str, Metric]:
        return {"acc": MulticlassAccuracy(self.num_outputs, average="micro")}

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        return output.argmax(dim=1)

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        return torch.softmax(output, dim=1)


@dataclass(frozen=True)
class Binary(Task):
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


def make_task(spec: DataSpec) -> Task:
    kind = {"multiclass": Multiclass, "binary": Binary, "regression": Regression}[spec.task]
    return kind(spec.num_outputs)
