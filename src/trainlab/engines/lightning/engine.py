"""``engine=lightning``: ``Trainer.fit``, then the best checkpoint validated and tested."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from trainlab.callbacks import ThrottledRichProgressBar
from trainlab.callbacks.resume import RunState
from trainlab.engines import Metrics
from trainlab.engines.interrupts import StopSignals
from trainlab.engines.lightning.build import (
    apply_torch_settings,
    build_module,
    build_trainer,
    compile_network,
)
from trainlab.engines.lightning.module import TrainModule
from trainlab.engines.lightning.ranks import Team, job_team
from trainlab.engines.lightning.steps import AUTO, steps_per_call
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


def _steps_per_call(
    setting: int | str, cfg: DictConfig, module: TrainModule, datamodule: Any, trainer: pl.Trainer
) -> int:
    """Steps per ``training_step``; one where a trainer option counts batches (limits,
    overfitting, a dev run), so those keep meaning mini-batches.
    """
    limit = cfg.trainer.get("limit_train_batches")
    limited = limit is not None and not (isinstance(limit, float) and limit == 1.0)
    if limited or cfg.trainer.get("overfit_batches") or cfg.trainer.get("fast_dev_run"):
        return 1
    steps = datamodule.train_batches(trainer.world_size)
    return steps_per_call(setting, module.network, datamodule.batch_size, steps)


def _stopped_early(trainer: pl.Trainer) -> bool:
    return any(callback.stopped_epoch > 0 for callback in trainer.early_stopping_callbacks)


class LightningEngine:
    """See ``trainlab.engines.Engine``; ``steps_per_call``: see ``steps.py``."""

    checkpoint_suffix: ClassVar[str] = ModelCheckpoint.FILE_EXTENSION

    def __init__(self, steps_per_call: int | str = AUTO) -> None:
        self.steps_per_call = steps_per_call

    def fit(self, cfg: DictConfig, callbacks: Sequence[Any] = ()) -> Metrics:
        prepare_process()
        with job_team(cfg, callbacks) as team:  # under DDP: the other ranks join
            return self._fit(cfg, callbacks, team)

    def _fit(self, cfg: DictConfig, callbacks: Sequence[Any], team: Team) -> Metrics:
        apply_torch_settings(cfg.trainer)
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = build_datamodule(cfg)
        history = EpochHistory()
        # Rank 0 alone reports to a sweep's trial; a pruned trial stops every rank.
        hook = team.agreed(epoch_end_hook(cfg, history) if team.leads else history)
        module = build_module(cfg, datamodule.spec, hook)
        compile_network(module, cfg.trainer.get("compile"))
        resume_from = resume_checkpoint(cfg, self.checkpoint_suffix, must_exist=team.leads)
        purge = _purge_step(resume_from) if resume_from and team.leads else None
        with StopSignals() as signals:
            trainer = build_trainer(
                cfg,
                [*callbacks, RunState(history.epochs)],
                purge_step=purge,
                plugins=team.plugins(),
                arrange=lambda all_callbacks: team.after_step_callbacks(all_callbacks, signals),
            )
            datamodule.steps_per_call = _steps_per_call(
                self.steps_per_call, cfg, module, datamodule, trainer
            )
            record = None
            if trainer.is_global_zero:
                record = start_run(cfg, _writer(trainer), continued=resume_from is not None)
                layers = torch_layers(module.network, datamodule.spec.input_shape)
                write_summary(layers, cfg.paths.output_dir)
            try:
                team.connect(trainer, cfg, signals)
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
        """On one device, in the run's precision (``run.load_run_config`` sets both)."""
        prepare_process()
        apply_torch_settings(cfg.trainer)
        datamodule = build_datamodule(cfg)
        module = build_module(cfg, datamodule.spec)
        read_checkpoint(Path(ckpt_path))  # a corrupt file: one line before Lightning tries
        trainer = pl.Trainer(
            accelerator=cfg.trainer.get("accelerator", "auto"),
            precision=cfg.trainer.get("precision", "32-true"),
            devices=1,
            logger=False,
            callbacks=[ThrottledRichProgressBar()],
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        try:
            with warnings.catch_warnings():  # the run's callbacks' states are not needed to test
                warnings.filterwarnings("ignore", message="Be aware that when using `ckpt_path`")
                trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)
        except (RuntimeError, KeyError) as error:  # weights of another model
            first = str(error).splitlines()[0]
            raise CheckpointError(f"{ckpt_path} does not fit this run's model: {first}") from None
        return report(cfg, _stage_metrics(trainer, "test/"))
