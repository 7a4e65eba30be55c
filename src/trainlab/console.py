"""What a run shows on the terminal, and what it leaves out.

A single run shows its progress bar, its model summary and its final metrics. A sweep's
jobs show none of these: the sweeper prints one line per trial and the final table, so
the jobs of a Hydra multirun stay quiet (``quiet()``). Lightning's INFO lines about the
hardware, its adverts and its checkpoint bookkeeping say nothing about the run: they are
kept out of the console but stay in the run's log file (``install_console_filter``).
"""

from __future__ import annotations

import logging
import re

from omegaconf import DictConfig, OmegaConf

#: Lightning INFO lines that a normal run's console leaves out (they stay in ``train.log``).
NOISE = re.compile(
    "|".join(
        (
            r"^(GPU|TPU|HPU|IPU) available: ",  # the device is in the run's config
            r"^LOCAL_RANK: \d+ - CUDA_VISIBLE_DEVICES: ",
            r"^\W*Tip: ",  # adverts for Lightning's services
            r"Skipping setting a default `ModelSummary` callback",
            r"^`Trainer\.(fit|validate|test)` stopped: ",  # the run's summary says why it stopped
            r"^Restoring states from the checkpoint path at ",  # the best checkpoint, reloaded
            r"^Loaded model weights from the checkpoint at ",
            r"^`weights_only` was not set",  # the run's own checkpoints, reloaded
        )
    )
)
LIBRARIES = ("lightning", "pytorch_lightning")
#: trainlab's own records for the log file only: the terminal gets them printed, plainly.
FILE_ONLY = "trainlab.summary"


def quiet() -> bool:
    """Whether this process runs one job of a Hydra multirun (a sweep's trial).

    Its progress bars, model summaries and final metric lines would repeat for every
    trial; the sweeper reports each trial in one line instead.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return False
    # A config composed outside ``hydra.main`` (``trainlab.train``) may leave the mode unset.
    hydra_node: DictConfig = HydraConfig.get()  # type: ignore[assignment]
    return bool(OmegaConf.select(hydra_node, "mode", default=None) == RunMode.MULTIRUN)


def keras_verbose() -> int:
    """``verbose`` for Keras' ``fit``: one line per epoch (2), or nothing in a sweep's job (0)."""
    return 0 if quiet() else 2


class LibraryNoise(logging.Filter):
    """Drops Lightning's INFO lines matching ``NOISE`` (warnings and errors always pass),
    trainlab's ``FILE_ONLY`` records, and the blank line after each captured warning.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "py.warnings":  # ``warnings.formatwarning`` ends in a newline
            record.msg, record.args = record.getMessage().rstrip(), None
        if record.name == FILE_ONLY:
            return False
        if record.levelno >= logging.WARNING or not record.name.startswith(LIBRARIES):
            return True
        return NOISE.search(record.getMessage()) is None


def console_handlers(logger: logging.Logger | None = None) -> list[logging.Handler]:
    """``logger``'s (the root's) handlers that write to a terminal stream, not to a file."""
    handlers = (logger or logging.getLogger()).handlers
    return [
        h
        for h in handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


def install_console_filter() -> None:
    """Keep ``NOISE`` off the console handlers Hydra configured for this job (idempotent).

    Hydra configures new handlers for each job, so every job installs the filter again.
    """
    for handler in console_handlers():
        if not any(isinstance(f, LibraryNoise) for f in handler.filters):
            handler.addFilter(LibraryNoise())
