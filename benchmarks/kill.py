"""A Lightning callback with which a run SIGKILLs itself at a chosen training step.

``benchmarks.resume`` adds it to the one run it kills
(``+callbacks.sigkill._target_=benchmarks.kill.sigkill_at_step``): the kill then lands at
the same step on every machine, however loaded, where a kill sent from outside lands
wherever the run happens to be. SIGKILL cannot be caught, so no handler runs and nothing
is flushed: the run directory is left as a crash or an out-of-memory kill leaves it.

The resumed run carries the callback too (its saved config is used as it is); it is armed
only in a run that starts at step 0, so the continuation never kills itself.
Standard library only at import: ``train.py`` imports this module while it starts.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning.pytorch import Callback


def sigkill_at_step(step: int) -> Callback:
    """The callback, built by Hydra inside ``train.py``: SIGKILL once ``step`` optimizer
    steps are done (at that batch's end)."""
    import lightning.pytorch as pl

    class SigkillAtStep(pl.Callback):
        def __init__(self) -> None:
            self.armed = False

        def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            self.armed = trainer.global_step == 0  # a fresh run, not a continued one

        def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
            if self.armed and trainer.global_step >= step:
                os.kill(os.getpid(), signal.SIGKILL)

    return SigkillAtStep()
