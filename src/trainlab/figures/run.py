"""Every figure a run draws, chosen by its task, written once at the end of the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainlab.data.base import DataSpec
from trainlab.figures.canvas import publish
from trainlab.figures.classification import confusion_heatmap, misclassified_grid
from trainlab.figures.curves import learning_curves
from trainlab.figures.regression import predicted_vs_true, residuals
from trainlab.tasks import Task, make_task

FIGURES_DIR = "figures"
MAX_MISCLASSIFIED = 32


@dataclass
class TestOutputs:
    """The test split and the trained model's raw outputs (logits or values) for it."""

    x: torch.Tensor
    y: torch.Tensor
    outputs: torch.Tensor

    def cpu(self) -> TestOutputs:
        return TestOutputs(*(t.detach().cpu() for t in (self.x, self.y, self.outputs)))


def _classification_figures(task: Task, spec: DataSpec, test: TestOutputs) -> dict[str, Any]:
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    probabilities = task.probabilities(test.outputs.float())
    classes = probabilities.shape[1]
    predicted = task.predict(test.outputs)
    matrix = multiclass_confusion_matrix(predicted, test.y, classes, normalize="true").numpy()
    wrong = torch.nonzero(predicted != test.y).squeeze(1)
    confidence = probabilities[wrong, predicted[wrong]]
    shown = wrong[torch.argsort(confidence, descending=True)][:MAX_MISCLASSIFIED]
    image_shape = spec.image_shape or (1, int(np.prod(spec.input_shape)))
    images = test.x[shown].float().reshape(len(shown), *image_shape).numpy()
    grid = misclassified_grid(
        images,
        test.y[shown].numpy(),
        predicted[shown].numpy(),
        probabilities[shown, predicted[shown]].numpy(),
        total_errors=len(wrong),
        total=len(test.y),
    )
    names = [str(c) for c in range(classes)]
    return {"confusion_matrix": confusion_heatmap(matrix, names), "misclassified": grid}


def _regression_figures(test: TestOutputs) -> dict[str, Any]:
    true = test.y.float().reshape(len(test.y), -1)[:, 0].numpy()
    predicted = test.outputs.float().reshape(len(test.y), -1)[:, 0].numpy()
    return {
        "predicted_vs_true": predicted_vs_true(true, predicted),
        "residuals": residuals(true, predicted),
    }


def draw_run_figures(
    directory: Path,
    spec: DataSpec,
    epochs: Sequence[dict[str, float]],
    test: TestOutputs | None,
    summaries: Any | None = None,
    step: int = 0,
) -> list[Path]:
    """Learning curves, plus the task's test-split figures when ``test`` is given.

    Each goes to ``<directory>/<name>.png`` and, given a ``SummaryWriter``, to
    TensorBoard's IMAGES tab as ``figures/<name>`` (``summaries``: a ``FileWriter``).
    """
    task = make_task(spec)
    figures: dict[str, Any] = {"learning_curves": learning_curves(epochs, ["loss", *task.metrics()])}
    if test is not None:
        test = test.cpu()
        if spec.task == "regression":
            figures.update(_regression_figures(test))
        else:
            figures.update(_classification_figures(task, spec, test))
    paths = [publish(figure, name, directory, summaries, step) for name, figure in figures.items()]
    if summaries is not None:
        summaries.flush()
    return paths
