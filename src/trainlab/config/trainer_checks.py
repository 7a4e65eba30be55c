"""Checks of Lightning's Trainer options (``trainer.*``), before Lightning is imported.

Lightning validates most of these itself, but only once the Trainer is built: after
the imports, inside the run directory Hydra has made, as a traceback or a message of
several lines. Some it accepts and then does something useless with:
``limit_train_batches=0`` trains nothing and the untrained model is reported as a
result. Whether the machine has the devices asked for is ``environment``'s question.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from trainlab.config.values import (
    Rule,
    int_at_least,
    is_int,
    is_number,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_int,
    value_at,
)
from trainlab.errors import ConfigError

ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")
#: Lightning's precision settings (``lightning.fabric``'s, which it keeps private), with
#: the short forms it accepts for them.
PRECISIONS: tuple[str | int, ...] = (
    "32-true",
    "16-mixed",
    "bf16-mixed",
    "16-true",
    "bf16-true",
    "64-true",
    "transformer-engine",
    "transformer-engine-float16",
    "32",
    "16",
    "bf16",
    "64",
    32,
    16,
    64,
)
BATCHES = "a number of batches >= 1 or a fraction in (0, 1]"
#: ``torch.set_float32_matmul_precision``: highest is exact float32; high and medium let
#: float32 matrix products use TF32 (or bfloat16) on GPUs that have it.
MATMUL_PRECISIONS = ("highest", "high", "medium")
#: ``torch.compile`` modes (``trainer.compile``); true is the default mode.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
#: Words in the names of Lightning strategies that fork or spawn the training function.
SPAWNING = ("spawn", "fork", "notebook")


def accelerator(value: Any) -> bool:
    return value in ACCELERATORS or (isinstance(value, dict) and "_target_" in value)


def device_request(value: Any) -> bool:
    """Lightning's ``devices``: a count >= 1, -1 or auto (all), or device indices."""
    if isinstance(value, str):
        value = value.strip()
        if value == "auto":
            return True
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if len(parts) == 1 and parts[0].lstrip("-").isdigit():
            return device_request(int(parts[0]))
        return bool(parts) and all(part.isdigit() for part in parts)
    if isinstance(value, list):
        return bool(value) and all(non_negative_int(v) for v in value) and len(set(value)) == len(value)
    return is_int(value) and (value >= 1 or value == -1)


def batch_limit(value: Any) -> bool:
    """An int is a number of batches, a float a fraction of them; 0 of either runs none."""
    if isinstance(value, float):
        return 0 < value <= 1
    return positive_int(value)


def overfit_batches(value: Any) -> bool:
    return non_negative_int(value) or (isinstance(value, float) and 0 <= value <= 1)


def fast_dev_run(value: Any) -> bool:
    return isinstance(value, bool) or non_negative_int(value)


def max_steps(value: Any) -> bool:
    return is_int(value) and (value >= 1 or value == -1)


def _limit_rule(stage: str, why: str) -> Rule:
    return Rule(f"trainer.limit_{stage}_batches", batch_limit, f"{BATCHES} ({why})")


TRAINER_RULES: list[Rule] = [
    Rule("trainer.accelerator", accelerator, f"one of {', '.join(ACCELERATORS)}"),
    Rule(
        "trainer.devices",
        device_request,
        "a number of devices >= 1, -1 or auto (all of them), or a list of device indices",
    ),
    Rule("trainer.num_nodes", positive_int, "an integer >= 1"),
    Rule(
        "trainer.float32_matmul_precision",
        one_of(*MATMUL_PRECISIONS),
        f"one of {', '.join(MATMUL_PRECISIONS)}",
    ),
    Rule(
        "trainer.compile",
        lambda value: isinstance(value, bool) or one_of(*COMPILE_MODES)(value),
        f"true, false or a torch.compile mode ({', '.join(COMPILE_MODES)})",
    ),
    Rule("trainer.precision", one_of(*PRECISIONS), f"one of {', '.join(map(str, PRECISIONS[:8]))}"),
    Rule("trainer.max_epochs", positive_int, "an integer >= 1", nullable=False),
    Rule("trainer.min_epochs", non_negative_int, "a non-negative integer"),
    Rule("trainer.max_steps", max_steps, "-1 (no limit) or an integer >= 1"),
    Rule("trainer.min_steps", non_negative_int, "a non-negative integer"),
    Rule("trainer.check_val_every_n_epoch", positive_int, "an integer >= 1"),
    Rule("trainer.log_every_n_steps", non_negative_int, "a non-negative integer (0: per epoch only)"),
    Rule("trainer.num_sanity_val_steps", int_at_least(-1), "an integer >= -1 (-1: every batch)"),
    _limit_rule("train", "0 would train nothing"),
    _limit_rule("val", "every epoch is validated: the checkpoints and early stopping follow it"),
    _limit_rule("test", "the best checkpoint is tested at the end"),
    Rule("trainer.fast_dev_run", fast_dev_run, "true, false or a number of batches"),
    Rule("trainer.overfit_batches", overfit_batches, "a number of batches or a fraction in [0, 1]"),
    Rule("trainer.gradient_clip_val", non_negative_number, "a non-negative number (0: off)"),
    Rule("trainer.gradient_clip_algorithm", one_of("norm", "value"), "norm or value"),
    Rule(
        "trainer.accumulate_grad_batches",
        one_of(1),
        "1: trainlab steps the optimizer every batch (raise data.batch_size instead)",
    ),
]


def _at_most(cfg: DictConfig, low_key: str, high_key: str, unlimited: Any = None) -> None:
    low, high = value_at(cfg, low_key), value_at(cfg, high_key)
    if not (is_number(low) and is_number(high)) or high == unlimited:
        return
    if low > high:
        raise ConfigError(f"{low_key}={low} is more than {high_key}={high}")


def check_strategy(cfg: DictConfig) -> None:
    """Ranks are started from the job's own config (``engines.lightning.ranks``), not forked
    or spawned: a spawned rank 0 cannot hand its epoch history and hooks back to the run.
    """
    strategy = value_at(cfg, "trainer.strategy")
    if isinstance(strategy, dict):
        strategy = strategy.get("start_method", "popen")
    if isinstance(strategy, str) and any(word in strategy for word in SPAWNING):
        raise ConfigError(
            f"trainer.strategy={strategy} is not supported: trainlab starts each DDP rank from "
            "the job's own config; use trainer=ddp (or trainer.strategy=ddp)"
        )


def check_trainer(cfg: DictConfig) -> None:
    """What the rules cannot see one option at a time: the bounds that must not cross."""
    _at_most(cfg, "trainer.min_epochs", "trainer.max_epochs")
    _at_most(cfg, "trainer.min_steps", "trainer.max_steps", unlimited=-1)
    check_strategy(cfg)
