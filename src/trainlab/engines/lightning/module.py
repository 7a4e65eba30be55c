"""One LightningModule for every task: the network, the task's loss and its metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn

from trainlab.data.base import Batch, StepGroup
from trainlab.engines.lightning.totals import EpochTotals, StepRecords
from trainlab.engines.runtime import EpochHook
from trainlab.errors import NonFiniteLossError
from trainlab.tasks import Task

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]
EPOCH_STATE = "trainlab_epoch_state"  # the checkpoint entry of the epoch in progress
# Steps whose outputs wait for one metric update: enough to make the update's Python
# cost negligible per step, few enough that the waiting outputs stay small.
METRIC_UPDATE_EVERY = 32


def _overrides(instance: object, base: type, hooks: Sequence[str]) -> bool:
    return any(getattr(type(instance), hook) is not getattr(base, hook) for hook in hooks)


def plain_backward(trainer: pl.Trainer, module: pl.LightningModule) -> bool:
    """Whether ``manual_backward`` would add nothing to ``loss.backward()``: one device, the
    plain precision (no loss scaling), and no hook around the backward to call.

    Its way through the strategy, the precision plugin and the two hooks of every callback
    is pure dispatch then, paid on every step: a visible share of a small network's step
    on a CPU. The optimizer step still goes through Lightning (``optimizer.step()``),
    which counts it and calls ``on_before_optimizer_step`` (where clipping is).
    """
    if (
        type(trainer.strategy) is not SingleDeviceStrategy
        or type(trainer.precision_plugin) is not Precision
    ):
        return False
    hooks = ("on_before_backward", "on_after_backward")
    if _overrides(module, pl.LightningModule, (*hooks, "backward")):
        return False
    callbacks: list[pl.Callback] = trainer.callbacks  # type: ignore[attr-defined]  # Lightning's own
    return not any(_overrides(callback, pl.Callback, hooks) for callback in callbacks)


def _log_name(stage: str) -> str:
    """Lightning's stage "fit" is logged as "train" (``nn.ModuleDict`` cannot hold "train")."""
    return "train" if stage == "fit" else stage


class TrainModule(pl.LightningModule):
    """Logs ``{train,val,test}/loss`` and the task's metrics once per epoch.

    The optimization step is written out in ``training_step`` (Lightning's manual
    optimization): zero the gradients, backward through Lightning (so mixed precision
    and DDP work as usual; on one device with nothing around the backward, straight
    through torch: see ``plain_backward``), clip, step. Lightning's automatic loop wraps
    each step in a closure and hooks trainlab does not use, about 0.1 ms a step: a tenth
    of a small MLP's step on CPU. Gradient clipping therefore comes in here (the Trainer refuses it
    with manual optimization) and the LR scheduler steps once per epoch, as it would have.

    Losses and metrics accumulate on the device; nothing syncs with the host per step.
    Each step only keeps its detached loss, outputs and targets; each stage's totals
    (``EpochTotals``) take them in one update every ``METRIC_UPDATE_EVERY`` steps and at
    the epoch's end, because an update costs more Python than a small MLP's step. A
    non-finite loss is flagged on-device at those updates and checked once before each
    validation, so the run stops before a NaN model can overwrite a checkpoint.
    """

    def __init__(
        self,
        network: nn.Module,
        task: Task,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        on_epoch_end: EpochHook | None = None,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.network, self.task = network, task
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.on_epoch_end = on_epoch_end
        self.gradient_clip_val, self.gradient_clip_algorithm = gradient_clip_val, gradient_clip_algorithm
        stages = ("fit", "val", "test")
        self.stage_metrics = nn.ModuleDict({stage: EpochTotals(task) for stage in stages})
        self._pending = {stage: StepRecords() for stage in stages}
        self._val_epoch_metrics: dict[str, torch.Tensor] = {}
        self._last_train_loss: torch.Tensor | None = None  # of the last finished epoch
        self.nonfinite_loss: torch.Tensor
        self.register_buffer("nonfinite_loss", torch.zeros((), dtype=torch.bool), persistent=False)
        self._plain_backward = False  # decided as each fit starts (on_train_start)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.network(x)
        return output

    def _metrics(self, stage: str) -> EpochTotals:
        metrics = self.stage_metrics[stage]
        assert isinstance(metrics, EpochTotals)
        return metrics

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        x, y = batch
        output = self(x)
        loss = self.task.loss(output, y)
        pending = self._pending[stage]
        pending.add(loss.detach(), len(x), output.detach(), y)
        if len(pending) >= METRIC_UPDATE_EVERY:
            self._update_metrics(stage)
        return loss

    def _update_metrics(self, stage: str) -> None:
        """Feed the kept steps to the stage's metrics in one update (no host sync)."""
        pending = self._pending[stage]
        if not len(pending):
            return
        loss_sum, samples, outputs, targets = pending.take()
        self._metrics(stage).update(loss_sum, samples, outputs, targets)
        if stage == "fit":  # a NaN or infinite step makes the sum so
            self.nonfinite_loss.logical_or_(~torch.isfinite(loss_sum))

    def training_step(self, batch: Batch | StepGroup, batch_idx: int) -> None:
        """One optimization step per mini-batch: the batch's, or each of a ``StepGroup``'s.

        A group changes nothing but the framework's cost: every mini-batch still gets its
        own forward, backward, clipping and optimizer step (``global_step`` counts them).
        """
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer), "TrainModule has one optimizer"
        for step in batch if isinstance(batch, StepGroup) else (batch,):
            loss = self._step(step, "fit")
            optimizer.zero_grad()
            if self._plain_backward:
                torch.autograd.backward(loss)
            else:
                self.manual_backward(loss)
            optimizer.step()

    def on_train_start(self) -> None:
        self._plain_backward = plain_backward(self.trainer, self)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip here: the precision plugin calls this hook after it unscales the gradients
        of a mixed-precision step, so the threshold applies to the true gradients.
        """
        if not self.gradient_clip_val:
            return
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if scaler is not None and getattr(optimizer, "_step_supports_amp_scaling", False):
            # A fused optimizer unscales inside its own step, after this hook: unscale
            # now (its step then knows) and clip with torch, which Lightning refuses there.
            scaler.unscale_(optimizer)
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            if self.gradient_clip_algorithm == "value":
                nn.utils.clip_grad_value_(parameters, self.gradient_clip_val)
            else:
                nn.utils.clip_grad_norm_(parameters, self.gradient_clip_val)
            return
        self.clip_gradients(optimizer, self.gradient_clip_val, self.gradient_clip_algorithm)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def _epoch_metrics(self, stage: str) -> dict[str, torch.Tensor]:
        """The stage's metrics over the epoch; the metrics start again for the next one."""
        self._update_metrics(stage)
        metrics = self._metrics(stage)
        computed: dict[str, torch.Tensor] = metrics.compute()
        metrics.reset()
        prefix = _log_name(stage)
        return {f"{prefix}/{name}": value for name, value in computed.items()}

    def _log_epoch_metrics(self, stage: str) -> dict[str, torch.Tensor]:
        """Compute the stage's epoch metrics and hand them on (see ``_publish``)."""
        computed = self._epoch_metrics(stage)
        self._publish(computed)
        return computed

    def _publish(self, computed: Mapping[str, torch.Tensor | float]) -> None:
        """During a fit: every metric to the loggers, at the epoch's step, in one call; the
        metrics a callback monitors (early stopping, checkpoints) to ``callback_metrics``.

        ``self.log`` costs about a millisecond a value, as much as a whole full-batch
        epoch of a small network, so a fit calls it only for what a callback reads.
        Outside a fit (the best checkpoint's validation and test), every metric goes to
        ``callback_metrics`` for the engine to read, and none to the curves: those
        numbers go to metrics.json and HPARAMS, not as lone points beside the curves.
        """
        if self.trainer.state.fn != TrainerFn.FITTING:
            self.log_dict(computed, on_step=False, on_epoch=True, logger=False)
            return
        if self.trainer.sanity_checking:
            return
        trainer = self.trainer
        watchers = [*trainer.early_stopping_callbacks, *trainer.checkpoint_callbacks]
        monitored = {
            monitor
            for callback in watchers
            if isinstance(monitor := getattr(callback, "monitor", None), str) and monitor in computed
        }
        for name in sorted(monitored):
            self.log(name, computed[name], on_step=False, on_epoch=True, logger=False)
        values = {name: float(value) for name, value in computed.items()}  # one host sync each
        for logger in self.loggers:
            logger.log_metrics({**values, "epoch": self.current_epoch}, step=self.global_step)
            logger.save()

    def _raise_if_nonfinite(self) -> None:
        """Every rank stops together: a NaN on one rank alone must not leave the others
        waiting in the next collective until it times out.
        """
        self._update_metrics("fit")
        nonfinite = bool(self.nonfinite_loss)
        if self.trainer.world_size > 1:
            nonfinite = self.trainer.strategy.reduce_boolean_decision(nonfinite, all=False)
        if nonfinite:
            checkpoints = self.trainer.checkpoint_callback
            directory = getattr(checkpoints, "dirpath", None)
            raise NonFiniteLossError.in_epoch(
                self.current_epoch + 1,
                Path(directory) if directory else None,
                ModelCheckpoint.FILE_EXTENSION,
            )

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self._raise_if_nonfinite()

    def running_loss(self) -> float | None:
        """The mean training loss of the epoch so far, or of the last finished epoch before
        this one's first step (one host sync: for the progress bar).

        It reads the metric's state and the steps not yet in it without updating the
        metric, so when the bar asks changes no number the epoch ends with.
        """
        total, samples = self._metrics("fit").running_loss()
        pending_total, pending_samples = self._pending["fit"].loss_sum()
        if samples + pending_samples > 0:
            return (total + pending_total) / (samples + pending_samples)
        return None if self._last_train_loss is None else float(self._last_train_loss)

    def on_train_epoch_end(self) -> None:
        self._raise_if_nonfinite()
        train = self._epoch_metrics("fit")
        self._last_train_loss = train.get("train/loss")
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer)
        # One tag whatever the optimizer (LearningRateMonitor's is ``lr-<Optimizer>``), on
        # the curves only. Logged before the hook: an epoch after which a sweep's pruner
        # stops the run is still on the curves.
        self._publish({**train, "train/lr": float(optimizer.optimizer.param_groups[0]["lr"])})
        if self.on_epoch_end is not None:  # one host sync per epoch
            epoch_metrics = {**train, **self._val_epoch_metrics}
            self.on_epoch_end(self.current_epoch, {k: float(v) for k, v in epoch_metrics.items()})
        scheduler = self.lr_schedulers()
        if isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
            scheduler.step()

    def last_validation(self) -> dict[str, float]:
        """The last validation epoch's metrics of this fit (for the progress bar)."""
        return {name: float(value) for name, value in self._val_epoch_metrics.items()}

    def on_validation_epoch_end(self) -> None:
        computed = self._log_epoch_metrics("val")
        if not self.trainer.sanity_checking:
            self._val_epoch_metrics = computed

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The epoch in progress: a run continued from a mid-epoch checkpoint logs the same
        epoch metrics as one never stopped (the metrics' states are not in ``state_dict``).
        """
        checkpoint[EPOCH_STATE] = {
            "totals": self._metrics("fit").state(),
            "pending": self._pending["fit"].state(),
            "val_epoch_metrics": self._val_epoch_metrics,
            "nonfinite_loss": self.nonfinite_loss,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(EPOCH_STATE)
        if state is None or self.trainer.state.fn != TrainerFn.FITTING:
            return  # validating or testing the best checkpoint: no epoch to continue
        if "totals" in state:  # else written by an older trainlab: the epoch's metrics restart
            self._metrics("fit").restore(state["totals"], self.device)
            self._pending["fit"].restore(state["pending"], self.device)
        self._val_epoch_metrics = state["val_epoch_metrics"]
        self.nonfinite_loss = state["nonfinite_loss"].to(self.device)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
