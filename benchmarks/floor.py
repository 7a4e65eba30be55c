"""The compute floor: an epoch's FLOPs over the GEMM throughput measured on its layers.

6 · params FLOPs per training sample and 2 · params per validation sample, at the rate
the machine multiplies this network's layer shapes at its batch sizes: what no loop on
this machine can beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from benchmarks.clock import timed
from trainlab.data.base import TensorDataModule

GEMM_TRIAL_SECONDS = 0.002  # short trials, so some fall between a busy neighbour's bursts


@dataclass
class Floor:
    seconds: float
    flops: float
    gemm_flops_per_second: float
    parameters: int


def linear_shapes(network: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in network.modules() if isinstance(m, nn.Linear)]


def fastest_matmul(a: torch.Tensor, b: torch.Tensor, device: torch.device, trials: int = 20) -> float:
    """Seconds of ``a @ b``: the fastest of many short trials (slower ones measure neighbours)."""
    out = torch.empty(a.shape[0], b.shape[1], device=device)

    def run() -> None:
        torch.matmul(a, b, out=out)

    calls = max(1, round(GEMM_TRIAL_SECONDS / max(timed(device, run), 1e-7)))

    def run_calls() -> None:
        for _ in range(calls):
            run()

    return min(timed(device, run_calls) / calls for _ in range(trials))


def gemm_seconds(
    shapes: list[tuple[int, int]], batch: int, backward: bool, device: torch.device
) -> tuple[float, float]:
    """Seconds and FLOPs (2·m·n·k each) of the layer GEMMs of one step.

    Forward is ``x @ W.T``; backward adds ``grad @ W`` and ``grad.T @ x``.
    """
    operands = []
    for fan_in, fan_out in shapes:
        x, w = torch.randn(batch, fan_in, device=device), torch.randn(fan_out, fan_in, device=device)
        g = torch.randn(batch, fan_out, device=device)
        operands.append((x, w.t().contiguous()))
        if backward:
            operands += [(g, w), (g.t().contiguous(), x)]
    seconds = sum(fastest_matmul(a, b, device) for a, b in operands)
    flops = sum(2.0 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in operands)
    return seconds, flops


def compute_floor(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> Floor:
    """The floor of one epoch of ``cfg``'s network on ``datamodule``'s train and val splits."""
    assert datamodule.splits is not None
    network = instantiate(cfg.model).build_torch(datamodule.spec)
    parameters = sum(p.numel() for p in network.parameters())
    shapes = linear_shapes(network)
    n_train, n_val = len(datamodule.splits.train[0]), len(datamodule.splits.val[0])
    train_size, val_size = datamodule.batch_size, datamodule.eval_batch_size
    mix = [  # (GEMM seconds, GEMM FLOPs) of one step, times the steps of one epoch
        (*gemm_seconds(shapes, train_size, True, device), n_train / train_size),
        (*gemm_seconds(shapes, val_size, False, device), n_val / val_size),
    ]
    throughput = sum(f * n for _, f, n in mix) / sum(s * n for s, _, n in mix)
    flops = 6.0 * parameters * n_train + 2.0 * parameters * n_val
    return Floor(flops / throughput, flops, throughput, parameters)
