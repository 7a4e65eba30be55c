"""``engine=lightning``: ``Trainer.fit``, then the best checkpoint validated and tested."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

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
from trainlab.engines.results import finish_run, finish_stopped, report, start_run
from trainlab.engines.runtime import EpochHistory, build_datamodule, epoch_end_hook, prepare_process
from trainlab.errors import CheckpointError
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


def _stage_metrics(trainer: pl.Trainer, prefix: str) -> dict[str, Any]:
    """What the last ``validate``/``test`` computed: the module keeps these numbers off the
    epoch curves (see ``TrainModule``), so they are read back from the trainer.
    """
    return {k: v for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}


def _purge_step(checkpoint: Path) -> int:
    """The first curve step a run continued from ``checkpoint`` logs again (steps are
    epochs from 1): TensorBoard drops what the run logged after the checkpoint.
    """
    state = read_checkpoint(checkpoint).get(RunState.KEY) or {}
    return len(state.get("epochs", [])) + 1


def _stopped_early(trainer: pl.Trainer) -> bool:
    return any(callback.stopped_epoch > 0 for callback in trainer.early_stopping_callbacks)


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
        purge = _purge_step(resume_from) if resume_from else None
        with StopSignals() as signals:
            run_callbacks = [*callbacks, RunState(history.epochs), StopOnSignal(signals)]
            trainer = build_trainer(cfg, run_callbacks, purge_step=purge)
            record = None
            if trainer.is_global_zero:
                record = start_run(cfg, _writer(trainer), continued=resume_from is not None)
                layers = torch_layers(module.network, datamodule.spec.input_shape)
                write_summary(layers, cfg.paths.output_dir)
            try:
                trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
            except SIGTERMException:  # Lightning's own stop, outside a training step
                interrupted = signals.interruption("between steps")
                if record is not None:
                    finish_stopped(cfg, record, history, interrupted)
                raise interrupted from None
            except BaseException as error:  # interrupted, pruned, NaN: still in HPARAMS
                if record is not None:
                    finish_stopped(cfg, record, history, error)
                raise
        stopped_early = _stopped_early(trainer)  # before the best checkpoint's state reloads
        try:
            best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
            trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False)
            val = _stage_metrics(trainer, "val/")
            trainer.test(module, datamodule=datamodule, ckpt_path=best, verbose=False)
            metrics = {**val, **_stage_metrics(trainer, "test/")}
            if record is None:  # a rank other than 0 writes nothing
                return to_floats(metrics)
            writer = _writer(trainer)
            return finish_run(
                cfg, record, datamodule, metrics, history, _forward(module), stopped_early, writer
            )
        except BaseException as error:  # a failure after training: run.json says so
            if record is not None:
                finish_stopped(cfg, record, history, error)
            raise

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
            trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)
        except (RuntimeError, KeyError) as error:  # weights of another model
            first = str(error).splitlines()[0]
            raise CheckpointError(f"{ckpt_path} does not fit this run's model: {first}") from None
        return report(cfg, _stage_metrics(trainer, "test/"))
