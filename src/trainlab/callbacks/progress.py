"""What a run shows while it trains: the progress bar and the model summary.

Lightning's ``RichProgressBar`` updates its bar and recomputes the displayed metrics
after every batch (its ``refresh_rate`` only switches it on or off). For a small
network a batch takes about a millisecond, and that bookkeeping cost 0.2 ms more: 0.07 s
of an MNIST epoch that the raw loop does in 0.6 s. A person reads a bar a few times a
second, so batches in between skip the update; the first and last batches of every
loop always show.

The same holds for whole epochs: a full-batch lesson runs hundreds of epochs a second,
and Lightning redraws the bar when each one starts and adds a new (hidden) validation
task each time, so every redraw walks all the epochs so far. Here an epoch that starts
sooner than the refresh interval after the last shown one is not drawn at all; the
first and last epochs always are, and a fit that ends on an undrawn epoch (early
stopping) draws it at its end. Each validation's task replaces the previous one.

The bar counts epochs from 1 ("Epoch 3/3" is the last of 3) and shows the epoch's
running train loss and the last validation's metrics. In a sweep's jobs (a Hydra
multirun) neither the bar nor the model summary shows: the sweeper prints one line
per trial.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import RichModelSummary, RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import RichProgressBarTheme
from rich.progress import BarColumn

from trainlab.console import quiet

#: Metrics as the run's final line shows them (``test/acc=0.9417``), not Lightning's ".3f".
THEME = RichProgressBarTheme(metrics_format=".4f")
BAR_WIDTH = 20


def _throttled(hook: str, total: str) -> Callable[..., None]:
    """``RichProgressBar``'s per-batch ``hook``, run only when the batch is ``_due``.

    ``total`` names the bar's property that counts the loop's batches.
    """

    def throttled_hook(
        self: ThrottledRichProgressBar,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        *dataloader_idx: int,
    ) -> None:
        if hook == "on_train_batch_end":
            self._train_batches_done = batch_idx + 1
        if self._due(batch_idx, total) and not self._skipped(trainer):
            getattr(RichProgressBar, hook)(
                self, trainer, pl_module, outputs, batch, batch_idx, *dataloader_idx
            )

    throttled_hook.__name__ = hook
    return throttled_hook


def epoch_description(current_epoch: int, max_epochs: int | None) -> str:
    """``Epoch 3/3`` for the last of 3 epochs (``current_epoch`` counts from 0, as Lightning's).

    Without an epoch limit (``max_epochs`` None or -1) the count stands alone.
    """
    shown = f"Epoch {current_epoch + 1}"
    return f"{shown}/{max_epochs}" if max_epochs is not None and max_epochs >= 0 else shown


def validation_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The ``val/...`` entries of Lightning's ``callback_metrics``, the loss first."""
    names = sorted((k for k in metrics if k.startswith("val/")), key=lambda k: (k != "val/loss", k))
    return {name: float(metrics[name]) for name in names}


class ThrottledRichProgressBar(RichProgressBar):
    """``RichProgressBar`` whose per-batch updates are rate-limited by wall time."""

    def __init__(self, refresh_per_second: float = 10.0, **kwargs: Any) -> None:
        kwargs.setdefault("theme", THEME)
        super().__init__(**kwargs)
        if refresh_per_second <= 0:
            raise ValueError(f"refresh_per_second must be positive, got {refresh_per_second}")
        self.refresh_interval = 1.0 / refresh_per_second
        self._last_update = -math.inf
        self._validation: dict[str, float] = {}
        self._last_epoch_shown = -math.inf  # when the last drawn epoch started
        self._epoch = 0  # the fit's epoch in progress (Lightning's count, from 0)
        self._epoch_shown = True  # whether that epoch is drawn
        self._train_batches_done = 0  # of that epoch

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """A sweep's job draws no bar (``console.quiet``); the sweeper reports its trials."""
        super().setup(trainer, pl_module, stage)
        if quiet():
            self.disable()

    def configure_columns(self, trainer: pl.Trainer) -> list[Any]:
        """Lightning's columns with a bar half as wide: the metrics then fit on a 120-column
        line beside it (they wrap under it otherwise).
        """
        columns: list[Any] = super().configure_columns(trainer)
        for column in columns:
            if isinstance(column, BarColumn):
                column.bar_width = BAR_WIDTH
        return columns

    def _get_train_description(self, current_epoch: int) -> str:
        """The training bar's label, from ``epoch_description``.

        Lightning builds the label here only (counting epochs from 0, and "/max_epochs-1"),
        for a new epoch and for a run resumed mid-epoch alike; it has no public hook for
        it, so this private method is overridden. Padded to the "Validation" label's
        width, as Lightning's, so the bar does not jump between the two.
        """
        label = epoch_description(current_epoch, self.trainer.max_epochs)
        return f"{label:{len(self.validation_description)}}"

    def get_metrics(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> dict[str, int | str | float | dict[str, float]]:
        """The epoch's running train loss and the last validation's metrics.

        Called only when the bar redraws (throttled batches, the ends of epochs and of
        validation), so the running loss's host sync is paid a few times a second at most.
        Lightning's ``v_num`` (the logger's version) says nothing here: the run directory
        names the run.
        """
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        shown: dict[str, int | str | float | dict[str, float]] = {}
        running_loss = getattr(pl_module, "running_loss", None)
        if callable(running_loss) and trainer.state.fn == "fit" and not trainer.sanity_checking:
            loss = running_loss()
            if loss is not None:
                shown["train/loss"] = float(loss)
        return {**shown, **self._validation, **items}

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Draw this epoch if the last drawn one started a refresh interval ago, or it is
        the fit's first or last; an undrawn epoch skips every hook of the bar."""
        self._epoch, self._train_batches_done = trainer.current_epoch, 0
        now = time.monotonic()
        max_epochs = trainer.max_epochs
        self._epoch_shown = (
            now - self._last_epoch_shown >= self.refresh_interval
            or self.train_progress_bar_id is None
            or (max_epochs is not None and 0 <= max_epochs <= self._epoch + 1)
        )
        if self._epoch_shown:
            self._last_epoch_shown = now
            super().on_train_epoch_start(trainer, pl_module)

    def _skipped(self, trainer: pl.Trainer) -> bool:
        """Whether this hook belongs to a fit's epoch that is not drawn."""
        return trainer.state.fn == "fit" and not trainer.sanity_checking and not self._epoch_shown

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._skipped(trainer):
            super().on_train_epoch_end(trainer, pl_module)

    def on_validation_batch_start(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self._skipped(trainer):
            super().on_validation_batch_start(trainer, pl_module, batch, batch_idx, dataloader_idx)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._skipped(trainer):
            super().on_validation_epoch_end(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Keep the epoch's validation metrics for the bar (``get_metrics`` shows them), and
        drop the validation's task: Lightning adds a new one for each validation."""
        if self.is_enabled and trainer.state.fn == "fit" and not trainer.sanity_checking:
            # trainlab's module hands a fit's metrics to callbacks only where one monitors
            # them; it keeps the whole validation for the bar.
            last = getattr(pl_module, "last_validation", None)
            self._validation = validation_metrics(last() if callable(last) else trainer.callback_metrics)
        if self._skipped(trainer):
            return
        super().on_validation_end(trainer, pl_module)
        task = self.val_progress_bar_id
        if self.progress is not None and trainer.state.fn == "fit" and task is not None:
            self.progress.remove_task(task)
            self.val_progress_bar_id = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A fit that ended on an undrawn epoch (early stopping, a signal) draws it now."""
        super().on_train_end(trainer, pl_module)
        if self._epoch_shown or self.progress is None or self.train_progress_bar_id is None:
            return
        self._epoch_shown = True
        self.progress.reset(
            self.train_progress_bar_id,
            total=self.total_train_batches,
            completed=self._train_batches_done,
            description=self._get_train_description(self._epoch),
            visible=True,
        )
        super().on_train_epoch_end(trainer, pl_module)  # the metrics, then a redraw

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Stop the display: a fit leaves its last epoch's line; nothing else leaves a line.

        After a fit, the best checkpoint's validation and test are bookkeeping whose
        results are the run's final lines: their bars show while they run, then vanish.
        Rich's ``Progress.stop`` would also print a blank line where the output is not a
        terminal (a log file, a CI job); stopping its ``live`` display alone does not,
        and a ``progress`` of None makes Lightning start a new display for the next stage.
        """
        if self.progress is not None and stage != "fit":
            self.progress.live.transient = True
            self.progress.live.stop()
            self.progress = None
        super().teardown(trainer, pl_module, stage)

    def _due(self, batch_idx: int, total: str) -> bool:
        """Whether this batch updates the bar: a loop's first and last batches (the speed
        shown is measured between updates), or any once enough time passed.

        The ``total`` property is read only on an enabled bar: Lightning's batch counts
        exist only there (on DDP ranks other than 0 the bar is disabled).
        """
        if self.is_disabled:
            return False
        now = time.monotonic()
        if (
            now - self._last_update >= self.refresh_interval
            or batch_idx == 0
            or batch_idx + 1 >= getattr(self, total)
        ):
            self._last_update = now
            return True
        return False

    on_train_batch_end = _throttled("on_train_batch_end", "total_train_batches")
    on_validation_batch_end = _throttled(
        "on_validation_batch_end", "total_val_batches_current_dataloader"
    )
    on_test_batch_end = _throttled("on_test_batch_end", "total_test_batches_current_dataloader")
    on_predict_batch_end = _throttled("on_predict_batch_end", "total_predict_batches_current_dataloader")


class QuietRichModelSummary(RichModelSummary):
    """Lightning's ``RichModelSummary``, left out of a sweep's jobs (``console.quiet``).

    A sweep prints one line per trial; the summary of each trial's model would bury them.
    """

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not quiet():
            super().on_fit_start(trainer, pl_module)
