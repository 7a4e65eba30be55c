"""How many optimizer steps one ``training_step`` call takes (``engine.steps_per_call``).

Lightning's fit loop costs about half a millisecond per call (its hooks, progress
tracking, the callbacks'); a small MLP's whole step costs a fifth of that. Handing each
call several mini-batches (``trainlab.data.base.StepGroup``), in the spirit of Keras'
``steps_per_execution``, pays that cost once per group. The optimization is unchanged:
every mini-batch still gets its own forward, backward, clipping and step.
"""

from __future__ import annotations

import math

from torch import nn

from trainlab.errors import ConfigError

AUTO = "auto"
#: Work one call should carry under ``auto``: the fit loop's cost is then a few percent.
CALL_SECONDS = 0.02
#: A step's cost on a CPU, estimated from its multiply-adds: a fixed part (kernel
#: launches, optimizer) plus forward and backward at a CPU's matrix-multiply rate.
STEP_SECONDS, SECONDS_PER_MULTIPLY_ADD = 1e-4, 4e-11


def estimated_step_seconds(network: nn.Module, batch_size: int) -> float:
    """A training step of ``network`` on ``batch_size`` samples, on a CPU (see above).

    The weights' element count is the network's multiply-adds per sample (exact for an
    MLP); on a GPU a step is faster, so the estimate errs towards groups that are larger
    than needed, never smaller.
    """
    weights = sum(p.numel() for name, p in network.named_parameters() if name.endswith("weight"))
    return STEP_SECONDS + weights * batch_size * SECONDS_PER_MULTIPLY_ADD


def steps_per_call(setting: int | str, network: nn.Module, batch_size: int, steps_per_epoch: int) -> int:
    """``setting`` (an integer >= 1, or ``auto``) as a number of steps per call.

    ``auto`` groups enough steps for about ``CALL_SECONDS`` of work; no setting groups
    more than an epoch's steps, so validation and the epoch hooks run when they would.
    """
    if setting == AUTO:
        wanted = math.ceil(CALL_SECONDS / estimated_step_seconds(network, batch_size))
    elif isinstance(setting, int) and not isinstance(setting, bool) and setting >= 1:
        wanted = setting
    else:
        raise ConfigError(f"engine.steps_per_call={setting!r}: expected auto or an integer >= 1")
    return max(1, min(wanted, steps_per_epoch))
