"""Checkpoints written whole or not at all, and read where they exist.

Lightning's ``TorchCheckpointIO`` writes a checkpoint in place: a full disk leaves a
truncated ``last.ckpt`` that ``torch.load`` rejects, and the run cannot be continued.
Written to a temporary file and renamed, a failed write keeps the previous checkpoint
and ends the run with one line.

Under DDP only rank 0 writes checkpoints, so on machines that share no filesystem only
rank 0 has them: when the best checkpoint is validated and tested, or a run continues
from ``last.ckpt``, rank 0 reads the file and broadcasts it to the other ranks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import Strategy

from trainlab.run import write_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves through ``trainlab.run.write_atomically`` and, with
    several ranks, loads on rank 0 alone (``share_through``).
    """

    strategy: Strategy | None = None

    def share_through(self, strategy: Strategy) -> None:
        """Load checkpoints on ``strategy``'s rank 0 and broadcast them to its other ranks."""
        self.strategy = strategy

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            target,
            lambda temporary: super(AtomicCheckpointIO, self).save_checkpoint(checkpoint, temporary),
        )

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        strategy = self.strategy
        if strategy is None or getattr(strategy, "world_size", 1) <= 1:
            return self._read(path, map_location, weights_only)
        loaded: dict[str, Any] | BaseException | None = None
        if strategy.is_global_zero:
            try:  # on the CPU: the other ranks put it on their own devices
                loaded = self._read(path, "cpu", weights_only)
            except Exception as error:  # raised on every rank below
                loaded = error
        loaded = strategy.broadcast(loaded, src=0)
        if isinstance(loaded, BaseException):
            raise loaded
        assert isinstance(loaded, dict)
        return loaded

    def _read(self, path: Any, map_location: Any | None, weights_only: bool | None) -> dict[str, Any]:
        if map_location is None:
            return super().load_checkpoint(path, weights_only=weights_only)
        return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
