"""The Lightning objects a config describes: the ``TrainModule`` and the ``Trainer``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelSummary, ProgressBar
from omegaconf import DictConfig, OmegaConf

from trainlab.data.base import DataSpec
from trainlab.engines.lightning.checkpoint_io import AtomicCheckpointIO
from trainlab.engines.lightning.module import TrainModule
from trainlab.engines.runtime import EpochHook
from trainlab.tasks import make_task

# Trainer options the module applies itself: it optimizes manually (see ``TrainModule``).
MODULE_TRAINER_OPTIONS = ("gradient_clip_val", "gradient_clip_algorithm")
# Trainer options that are torch's, not Lightning's: applied here, never passed to the Trainer.
TORCH_TRAINER_OPTIONS = ("float32_matmul_precision", "compile")


def apply_torch_settings(trainer: DictConfig) -> None:
    """``trainer.float32_matmul_precision`` for this process (exact float32 when unset).

    It is a process-wide setting: each run sets it, so a sweep's jobs do not inherit it
    from the job before.
    """
    torch.set_float32_matmul_precision(str(trainer.get("float32_matmul_precision") or "highest"))


def compile_network(module: TrainModule, setting: bool | str | None) -> None:
    """``trainer.compile``: ``torch.compile`` the network in place (``nn.Module.compile``),
    so its parameters and the checkpoints' keys stay those of the plain network.
    """
    if setting:
        module.network.compile(**({} if setting is True else {"mode": str(setting)}))


def build_module(cfg: DictConfig, spec: DataSpec, on_epoch_end: EpochHook | None = None) -> TrainModule:
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    module = TrainModule(
        network=instantiate(cfg.model).build_torch(spec),
        task=make_task(spec),
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        on_epoch_end=on_epoch_end,
        **{key: cfg.trainer.get(key) for key in MODULE_TRAINER_OPTIONS},
    )
    module.example_input_array = torch.zeros(1, *spec.input_shape)  # output shapes in the summary
    return module


def _instantiate_all(group: DictConfig | None) -> list[Any]:
    return [instantiate(node) for node in (group or {}).values() if node is not None]


def _loggers(cfg: DictConfig, purge_step: int | None) -> list[Any]:
    """The configured loggers; a continued run's TensorBoard drops what it logged after
    the checkpoint it continues from (from ``purge_step`` on), so no epoch shows twice.
    """
    loggers = []
    for node in (cfg.get("logger") or {}).values():
        if node is None:
            continue
        purge = purge_step is not None and str(node.get("_target_", "")).endswith("TensorBoardLogger")
        loggers.append(instantiate(node, purge_step=purge_step) if purge else instantiate(node))
    return loggers


def lightning_options(trainer: DictConfig) -> dict[str, Any]:
    """``trainer``, resolved, without the options trainlab applies itself."""
    options = OmegaConf.to_container(trainer, resolve=True)
    assert isinstance(options, dict)
    return {str(k): v for k, v in options.items() if k not in TORCH_TRAINER_OPTIONS}


def _without_lightnings_defaults(callbacks: Sequence[Any]) -> dict[str, bool]:
    """Lightning adds its own progress bar (tqdm, redrawn after every batch) and model
    summary when none is configured: removing ``callbacks.rich_progress_bar`` or
    ``callbacks.model_summary`` would bring them back instead of removing them. Where none
    is configured, they are turned off (``trainer.enable_progress_bar=true`` brings
    Lightning's back).
    """
    options = {}
    if not any(isinstance(callback, ProgressBar) for callback in callbacks):
        options["enable_progress_bar"] = False
    if not any(isinstance(callback, ModelSummary) for callback in callbacks):
        options["enable_model_summary"] = False
    return options


def build_trainer(
    cfg: DictConfig,
    extra_callbacks: Sequence[pl.Callback] = (),
    purge_step: int | None = None,
    plugins: Sequence[Any] = (),
    arrange: Callable[[list[Any]], list[Any]] | None = None,
) -> pl.Trainer:
    """The configured Trainer with the configured callbacks (then ``extra_callbacks``) and loggers.

    ``arrange`` may replace callbacks (DDP agrees on what each rank would decide alone);
    ``plugins`` go to the Trainer too (the ranks' ``RankEnvironment``). Checkpoints are
    written atomically and, under DDP, read by rank 0 alone (``AtomicCheckpointIO``).
    """
    callbacks = [*_instantiate_all(cfg.get("callbacks")), *extra_callbacks]
    checkpoint_io = AtomicCheckpointIO()
    trainer: pl.Trainer = instantiate(
        {**_without_lightnings_defaults(callbacks), **lightning_options(cfg.trainer)},
        callbacks=arrange(callbacks) if arrange is not None else callbacks,
        logger=_loggers(cfg, purge_step) or False,
        plugins=[checkpoint_io, *plugins],
        **dict.fromkeys(MODULE_TRAINER_OPTIONS),  # the module applies them
    )
    checkpoint_io.share_through(trainer.strategy)
    return trainer
