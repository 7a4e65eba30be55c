"""A task's metrics from running totals (what the Lightning engine keeps per epoch) equal
its torchmetrics (what the baselines score with) over the same batches."""

from __future__ import annotations

import pytest
import torch

from trainlab.data.base import DataSpec
from trainlab.tasks import make_task

CASES = {
    "multiclass": (DataSpec(input_shape=(4,), num_outputs=5, task="multiclass"), "int"),
    "binary, one output": (DataSpec(input_shape=(4,), num_outputs=1, task="binary"), "int"),
    "binary, two outputs": (DataSpec(input_shape=(4,), num_outputs=2, task="binary"), "int"),
    "regression": (DataSpec(input_shape=(4,), num_outputs=3, task="regression"), "float"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_totals_give_the_torchmetrics_values(case: str) -> None:
    spec, targets = CASES[case]
    task = make_task(spec)
    classes = max(spec.num_outputs, 2)
    generator = torch.Generator().manual_seed(0)
    metrics = task.metrics()
    float_sums, int_counts = task.total_sizes
    sums, counts, samples = torch.zeros(float_sums), torch.zeros(int_counts, dtype=torch.long), 0
    for size in (7, 50, 13):  # batches of different sizes: the totals weigh them by size
        output = torch.randn(size, spec.num_outputs, generator=generator)
        if targets == "int":
            target = torch.randint(0, classes, (size,), generator=generator)
        else:
            target = torch.randn(size, spec.num_outputs, generator=generator)
        for metric in metrics.values():
            metric.update(task.metric_inputs(output), target)
        batch_sums, batch_counts = task.totals(output, target)
        sums += 0 if batch_sums is None else batch_sums
        counts += 0 if batch_counts is None else batch_counts
        samples += size
    from_totals = task.from_totals(sums, counts, torch.tensor(samples))
    assert from_totals.keys() == metrics.keys()
    for name, metric in metrics.items():
        assert float(from_totals[name]) == pytest.approx(float(metric.compute()), rel=1e-6), name
