"""The Lightning engine: Trainer.fit with the configured callbacks and loggers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from trainlab.callbacks import ThrottledRichProgressBar
from trainlab.data.base import DataSpec, TensorDataModule
from trainlab.engines.common import (
    EpochHistory,
    build_datamodule,
    call_all,
    epoch_end_hooks,
    finish_run,
    freeze_startup_objects,
    predictions_for,
    report,
    route_library_logs,
    run_hparams,
)
from trainlab.engines.lightning.module import EpochEndHook, TrainModule
from trainlab.errors import CheckpointError
from trainlab.figures import TestOutputs
from trainlab.models.summary import torch_layers, write_summary
from trainlab.run import write_hparams
from trainlab.tasks import make_task

log = logging.getLogger("trainlab")
# Trainer options the module applies itself: it optimizes manually (see ``TrainModule``).
MODULE_TRAINER_OPTIONS = ("gradient_clip_val", "gradient_clip_algorithm")


def build_module(
    cfg: DictConfig, spec: DataSpec, on_epoch_end: EpochEndHook | None = None
) -> TrainModule:
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


def build_trainer(cfg: DictConfig, extra_callbacks: Sequence[pl.Callback] = ()) -> pl.Trainer:
    """The configured Trainer with the configured callbacks (then ``extra_callbacks``) and loggers."""
    return instantiate(
        cfg.trainer,
        callbacks=[*_instantiate_all(cfg.get("callbacks")), *extra_callbacks],
        logger=_instantiate_all(cfg.get("logger")) or False,
        **dict.fromkeys(MODULE_TRAINER_OPTIONS),  # the module applies them
    )


class LightningEngine:
    """``fit`` trains, then validates and tests the best checkpoint; ``evaluate`` re-tests."""

    def fit(self, cfg: DictConfig) -> dict[str, float]:
        route_library_logs()
        freeze_startup_objects()
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = build_datamodule(cfg)
        history = EpochHistory()
        module = build_module(cfg, datamodule.spec, call_all([history, *epoch_end_hooks(cfg)]))
        trainer = build_trainer(cfg)
        if trainer.is_global_zero:
            layers = torch_layers(module.network, datamodule.spec.input_shape)
            write_summary(layers, cfg.paths.output_dir)
        try:
            trainer.fit(module, datamodule=datamodule)
        except BaseException:  # pruned, NaN, interrupted: the run still shows in HPARAMS
            self._write_hparams(cfg, trainer, history.last())
            raise
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        loggers, trainer.loggers = trainer.loggers, []  # keep the val curves one point per epoch
        val = trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False)[0]
        trainer.loggers = loggers
        metrics = {**val, **trainer.test(module, datamodule=datamodule, ckpt_path=best)[0]}
        if not trainer.is_global_zero:
            return {k: float(v) for k, v in metrics.items()}
        writer = self._tensorboard(trainer)
        metrics = finish_run(
            cfg,
            datamodule,
            metrics,
            history,
            lambda: self._test_outputs(module, datamodule),
            writer.experiment if writer else None,
            trainer.global_step,
        )
        self._print_predictions(cfg, module, datamodule)
        self._write_hparams(cfg, trainer, metrics)
        return metrics

    @staticmethod
    def _tensorboard(trainer: pl.Trainer) -> TensorBoardLogger | None:
        return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)

    @staticmethod
    def _test_outputs(module: TrainModule, datamodule: TensorDataModule) -> TestOutputs:
        """The (best) model's raw outputs on the whole test split, for the figures."""
        assert datamodule.splits is not None
        x, y = datamodule.splits.test
        module.eval()
        with torch.no_grad():
            outputs = torch.cat([module(chunk.to(module.device)) for chunk in x.split(8192)])
        return TestOutputs(x, y, outputs)

    @staticmethod
    def _write_hparams(cfg: DictConfig, trainer: pl.Trainer, metrics: dict[str, float]) -> None:
        writer = LightningEngine._tensorboard(trainer)
        if trainer.is_global_zero and writer is not None:
            write_hparams(writer.experiment, run_hparams(cfg), metrics)

    def evaluate(self, cfg: DictConfig, ckpt_path: str) -> dict[str, float]:
        if not str(ckpt_path).endswith(".ckpt"):
            raise CheckpointError(f"{ckpt_path} is not a Lightning checkpoint (.ckpt)")
        route_library_logs()
        datamodule = build_datamodule(cfg)
        module = build_module(cfg, datamodule.spec)
        trainer = pl.Trainer(
            accelerator=cfg.trainer.get("accelerator", "auto"),
            devices=1,
            logger=False,
            callbacks=[ThrottledRichProgressBar()],
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        try:
            metrics = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path)[0]
        except (RuntimeError, KeyError) as error:  # weights of another model
            first = str(error).splitlines()[0]
            raise CheckpointError(f"{ckpt_path} does not fit this run's model: {first}") from None
        return report(cfg, metrics)

    @staticmethod
    def _print_predictions(cfg: DictConfig, module: TrainModule, datamodule: TensorDataModule) -> None:
        inputs = predictions_for(cfg)
        if inputs is None:
            return
        module.eval()
        with torch.no_grad():
            x = datamodule.preprocess(inputs).to(module.device)
            outputs = module.task.predict(module(x)).cpu()
        for row, value in zip(inputs, outputs.tolist(), strict=True):
            print(f"prediction for {row}: {value}")
        log.info("predictions: %s -> %s", inputs, outputs.tolist())
