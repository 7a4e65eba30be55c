"""One LightningModule for every task: the network, the task's loss and torchmetrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from trainlab.data.base import Batch, StepGroup
from trainlab.engines.runtime import EpochHook
from trainlab.errors import NonFiniteLossError
from trainlab.tasks import Task

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]
EPOCH_STATE = "trainlab_epoch_state"  # the checkpoint entry of the epoch in progress
# Steps whose outputs wait for one metric update: enough to make the update's Python
# cost negligible per step, few enough that the waiting outputs stay small.
METRIC_UPDATE_EVERY = 32


def _log_name(stage: str) -> str:
    """Lightning's stage "fit" is logged as "train" (``nn.ModuleDict`` cannot hold "train")."""
    return "train" if stage == "fit" else stage


def _copy(state: torch.Tensor | list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    return state.clone() if isinstance(state, torch.Tensor) else [t.clone() for t in state]


class StepRecords:
    """The detached loss, sample count, metric inputs and targets of steps not yet in the metrics."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.counts: list[int] = []
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, loss: torch.Tensor, count: int, output: torch.Tensor, target: torch.Tensor) -> None:
        self.losses.append(loss)
        self.counts.append(count)
        self.outputs.append(output)
        self.targets.append(target)

    def take(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The kept steps as batched tensors (losses, weights, outputs, targets); then empty."""
        losses = torch.stack(self.losses)
        weights = torch.tensor(self.counts, dtype=losses.dtype).to(losses.device, non_blocking=True)
        batched = losses, weights, torch.cat(self.outputs), torch.cat(self.targets)
        self.clear()
        return batched

    def state(self) -> dict[str, list[Any]]:
        return {
            "losses": self.losses,
            "counts": self.counts,
            "outputs": self.outputs,
            "targets": self.targets,
        }

    def restore(self, state: dict[str, list[Any]], device: torch.device) -> None:
        self.losses = [t.to(device) for t in state["losses"]]
        self.counts = list(state["counts"])
        self.outputs = [t.to(device) for t in state["outputs"]]
        self.targets = [t.to(device) for t in state["targets"]]


class TrainModule(pl.LightningModule):
    """Logs ``{train,val,test}/loss`` and the task's metrics once per epoch.

    The optimization step is written out in ``training_step`` (Lightning's manual
    optimization): zero the gradients, backward through Lightning (so mixed precision
    and DDP work as usual), clip, step. Lightning's automatic loop wraps each step in a
    closure and hooks trainlab does not use, about 0.1 ms a step: a tenth of a small
    MLP's step on CPU. Gradient clipping therefore comes in here (the Trainer refuses it
    with manual optimization) and the LR scheduler steps once per epoch, as it would have.

    Losses and metrics accumulate on the device; nothing syncs with the host per step.
    Each step only keeps its detached loss, outputs and targets; the metrics take them
    in one update every ``METRIC_UPDATE_EVERY`` steps and at the epoch's end, because a
    torchmetrics update costs more Python than a small MLP's step. A non-finite loss is
    flagged on-device at those updates and checked once before each validation, so the
    run stops before a NaN model can overwrite a checkpoint.
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
        self.stage_metrics = nn.ModuleDict(
            {
                stage: MetricCollection(
                    {"loss": MeanMetric(), **task.metrics()},
                    prefix=f"{_log_name(stage)}/",
                    compute_groups=False,  # each metric owns its states (see on_save_checkpoint)
                )
                for stage in ("fit", "val", "test")
            }
        )
        self._pending = {stage: StepRecords() for stage in ("fit", "val", "test")}
        self._val_epoch_metrics: dict[str, torch.Tensor] = {}
        self._last_train_loss: torch.Tensor | None = None  # of the last finished epoch
        self.nonfinite_loss: torch.Tensor
        self.register_buffer("nonfinite_loss", torch.zeros((), dtype=torch.bool), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.network(x)
        return output

    def _metrics(self, stage: str) -> MetricCollection:
        metrics = self.stage_metrics[stage]
        assert isinstance(metrics, MetricCollection)
        return metrics

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        x, y = batch
        output = self(x)
        loss = self.task.loss(output, y)
        pending = self._pending[stage]
        pending.add(loss.detach(), len(x), self.task.metric_inputs(output.detach()), y)
        if len(pending) >= METRIC_UPDATE_EVERY:
            self._update_metrics(stage)
        return loss

    def _update_metrics(self, stage: str) -> None:
        """Feed the kept steps to the stage's metrics in one update (no host sync)."""
        pending = self._pending[stage]
        if not len(pending):
            return
        losses, weights, outputs, targets = pending.take()
        metrics = self._metrics(stage)
        metrics["loss"].update(losses, weight=weights)
        for name, metric in metrics.items(keep_base=True):
            if name != "loss":
                metric.update(outputs, targets)
        if stage == "fit":
            self.nonfinite_loss |= ~torch.isfinite(losses).all()

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
            self.manual_backward(loss)
            optimizer.step()

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
        return computed

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
        mean = self._metrics("fit")["loss"]
        assert isinstance(mean, MeanMetric)
        pending = self._pending["fit"]
        total, weight = float(mean.mean_value), float(mean.weight)
        if len(pending):
            losses = torch.stack(pending.losses).float().cpu()
            total += float((losses * torch.tensor(pending.counts, dtype=losses.dtype)).sum())
            weight += sum(pending.counts)
        if weight > 0:
            return total / weight
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
            "metrics": {
                name: {key: _copy(value) for key, value in metric.metric_state.items()}
                for name, metric in self._metrics("fit").items(keep_base=True)
            },
            "pending": self._pending["fit"].state(),
            "val_epoch_metrics": self._val_epoch_metrics,
            "nonfinite_loss": self.nonfinite_loss,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(EPOCH_STATE)
        if state is None or self.trainer.state.fn != TrainerFn.FITTING:
            return  # validating or testing the best checkpoint: no epoch to continue
        for name, metric in self._metrics("fit").items(keep_base=True):
            for key, value in state["metrics"][name].items():
                moved = value.to(self.device) if isinstance(value, torch.Tensor) else value
                setattr(metric, key, moved)
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
