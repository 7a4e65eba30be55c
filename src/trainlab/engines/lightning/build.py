"""The Lightning objects a config describes: the ``TrainModule`` and the ``Trainer``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from trainlab.data.base import DataSpec
from trainlab.engines.lightning.checkpoint_io import AtomicCheckpointIO
from trainlab.engines.lightning.module import TrainModule
from trainlab.engines.runtime import EpochHook
from trainlab.tasks import make_task

# Trainer options the module applies itself: it optimizes manually (see ``TrainModule``).
MODULE_TRAINER_OPTIONS = ("gradient_clip_val", "gradient_clip_algorithm")


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


def build_trainer(
    cfg: DictConfig, extra_callbacks: Sequence[pl.Callback] = (), purge_step: int | None = None
) -> pl.Trainer:
    """The configured Trainer with the configured callbacks (then ``extra_callbacks``) and loggers.

    Checkpoints are written atomically (``AtomicCheckpointIO``).
    """
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        callbacks=[*_instantiate_all(cfg.get("callbacks")), *extra_callbacks],
        logger=_loggers(cfg, purge_step) or False,
        plugins=[AtomicCheckpointIO()],
        **dict.fromkeys(MODULE_TRAINER_OPTIONS),  # the module applies them
    )
    return trainer
