"""A Lightning callback that writes the wall time of the first training step to a file.

``benchmarks.startup`` adds it only to the runs it measures
(``+callbacks.first_step._target_=benchmarks.stamp.first_step_stamp``), so normal runs
carry no timing code. Standard library only: ``train.py`` imports this module while it
starts, inside the time being measured.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning.pytorch import Callback


def first_step_stamp(path: str) -> Callback:
    """The callback, built by Hydra inside ``train.py``, where Lightning is imported."""
    from lightning.pytorch import Callback

    class FirstStepStamp(Callback):
        def __init__(self) -> None:
            self.written = False

        def on_train_batch_start(self, *args: Any) -> None:
            if not self.written:
                partial = Path(f"{path}.partial")
                partial.write_text(repr(time.time()))
                partial.replace(path)  # the parent sees the whole stamp or none
                self.written = True

    return FirstStepStamp()
