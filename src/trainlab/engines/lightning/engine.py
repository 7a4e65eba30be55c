"""``engine=lightning``: ``Trainer.fit``, then the best checkpoint validated and tested."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from trainlab.callbacks import ThrottledRichProgressBar
from trainlab.callbacks.resume import RunState, StopOnSignal
from trainlab.engines import Metrics
from trainlab.engines.interrupts import StopSignals
from trainlab.engines.lightning.build import build_module, build_trainer
from trainlab.engines.lightning.module import TrainModule
from trainlab.engines.results import finish_interrupted, finish_run, record_hparams, report
from trainlab.engines.runtime import EpochHistory, build_datamodule, epoch_end_hook, prepare_process
from trainlab.errors import CheckpointError, RunInterrupted
from trainlab.models.summary import torch_layers, write_summary
from trainlab.run import read_checkpoint, resume_checkpoint, to_floats


def _forward(module: TrainModule) -> Any:
    """The trained network as the engine-neutral forward function (eval mode, its device)."""
    module.eval()
    return lambda x: module(x.to(module.device))


def _writer(trainer: pl.Trainer) -> Any | None:
    """The ``SummaryWriter`` of the run's TensorBoard logger, on rank 0 only."""
    logger = next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
    return logger.experiment if logger is not None and trainer.is_global_zero else None


def _global_step(checkpoint: Path) -> int:
    """The optimizer steps a checkpoint had taken (TensorBoard drops later events)."""
    return int(read_checkpoint(checkpoint)["global_step"])


class LightningEngine:
    """See ``trainlab.engines.Engine``."""

    checkpoint_suffix: ClassVar[str] = ModelCheckpoint.FILE_EXTENSION

    def fit(self, cfg: DictConfig, callbacks: Sequence[Any] = ()) -> Metrics:
        prepare_process()
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = build_datamodule(cfg)
        history = EpochHistory()
        module = build_module(cfg, datamodule.spec, epoch_end_hook(cfg, history))
        resume_from = resume_checkpoint(cfg, self.checkpoint_suffix)
        step = _global_step(resume_from) if resume_from else None
        with StopSignals() as signals:
            run_callbacks = [*callbacks, RunState(history.epochs), StopOnSignal(signals)]
            trainer = build_trainer(cfg, run_callbacks, resumed_step=step)
            if trainer.is_global_zero:
                layers = torch_layers(module.network, datamodule.spec.input_shape)
                write_summary(layers, cfg.paths.output_dir)
            try:
                trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
            except SIGTERMException:  # Lightning's own stop, outside a training step
                self._stopped(cfg, trainer, history, signals.interruption("between steps"))
            except RunInterrupted as interrupted:
                self._stopped(cfg, trainer, history, interrupted)
            except BaseException:  # pruned, NaN: the run still shows in HPARAMS
                writer = _writer(trainer)
                if writer is not None:
                    record_hparams(cfg, writer, history.last())
                raise
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False)
        # The module keeps these off the epoch curves (see ``TrainModule``): read them back.
        val = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        metrics = {**val, **trainer.test(module, datamodule=datamodule, ckpt_path=best)[0]}
        if not trainer.is_global_zero:
            return to_floats(metrics)
        return finish_run(
            cfg, datamodule, metrics, history, _forward(module), _writer(trainer), trainer.global_step
        )

    @staticmethod
    def _stopped(
        cfg: DictConfig, trainer: pl.Trainer, history: EpochHistory, interrupted: RunInterrupted
    ) -> NoReturn:
        if trainer.is_global_zero:
            finish_interrupted(cfg, history, _writer(trainer))
        raise interrupted from None

    def evaluate(self, cfg: DictConfig, ckpt_path: str) -> Metrics:
        prepare_process()
        datamodule = build_datamodule(cfg)
        module = build_module(cfg, datamodule.spec)
        read_checkpoint(Path(ckpt_path))  # a corrupt file: one line before Lightning tries
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
        return report(cfg, dict(metrics))
