"""Checkpoints written whole or not at all.

Lightning's ``TorchCheckpointIO`` writes a checkpoint in place: a full disk leaves a
truncated ``last.ckpt`` that ``torch.load`` rejects, and the run cannot be continued.
Written to a temporary file and renamed, a failed write keeps the previous checkpoint
and ends the run with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from trainlab.run import write_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves through ``trainlab.run.write_atomically``."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            target,
            lambda temporary: super(AtomicCheckpointIO, self).save_checkpoint(checkpoint, temporary),
        )
