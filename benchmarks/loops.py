"""The hand-written rows' training loop, and the raw row: batches cut by indexing.

One epoch is a training pass, then a validation pass with loss and metrics accumulated on
the device and one host sync, as trainlab's module does, so the loop computes what an
engine's epoch computes. The network, optimizer and task are the config's, so every row
trains the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from benchmarks.clock import timed
from trainlab.data.base import Batch, TensorDataModule
from trainlab.tasks import Task, make_task


def device_of(cfg: DictConfig) -> torch.device:
    """The device trainlab's trainer picks, so every row computes on the same one."""
    wanted = str(cfg.trainer.get("accelerator", "auto"))
    use_cuda = torch.cuda.is_available() and wanted in ("auto", "gpu", "cuda")
    return torch.device("cuda" if use_cuda else "cpu")


def build_network(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> nn.Module:
    torch.manual_seed(cfg.seed)
    network: nn.Module = instantiate(cfg.model).build_torch(datamodule.spec)
    return network.to(device)


def run_epoch(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    task: Task,
    train: Iterable[Batch],
    val: Iterable[Batch],
    device: torch.device,
) -> float:
    """One hand-written epoch: train pass, then a validation pass with loss and metrics."""
    network.train()
    for x, y in train:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = task.loss(network(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    network.eval()
    metrics = {name: metric.to(device) for name, metric in task.metrics().items()}
    total = torch.zeros((), device=device)
    with torch.no_grad():
        for x, y in val:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            output = network(x)
            total += task.loss(output, y) * len(x)
            for metric in metrics.values():
                metric.update(task.metric_inputs(output), y)
    results = [total, *(metric.compute() for metric in metrics.values())]
    return float(torch.stack([r.float() for r in results]).sum())  # the one host sync


def timed_epoch(
    cfg: DictConfig,
    datamodule: TensorDataModule,
    device: torch.device,
    train: Iterable[Batch],
    val: Iterable[Batch],
) -> float:
    """Seconds of one ``run_epoch`` of a freshly built network and optimizer."""
    network = build_network(cfg, datamodule, device)
    optimizer = instantiate(cfg.optimizer)(network.parameters())
    task = make_task(datamodule.spec)
    return timed(device, lambda: run_epoch(network, optimizer, task, train, val, device))


def index_batches(pair: Batch, batch_size: int, shuffle: bool) -> Iterator[Batch]:
    """``x[idx], y[idx]`` per batch: one gather each, as a hand-written loop does it."""
    x, y = pair
    order = torch.randperm(len(x), device=x.device) if shuffle else None
    for start in range(0, len(x), batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            index = order[start : start + batch_size]
            yield x[index], y[index]


def raw_epoch(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> float:
    """The raw row: the splits on the device, batches by indexing."""
    assert datamodule.splits is not None
    splits = datamodule.splits.to(device)
    train = index_batches(splits.train, datamodule.batch_size, shuffle=True)
    val = index_batches(splits.val, datamodule.eval_batch_size, shuffle=False)
    return timed_epoch(cfg, datamodule, device, train, val)
