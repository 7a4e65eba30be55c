"""Epoch scalars held back until the event file's next flush, on both engines.

TensorBoard's ``SummaryWriter`` flushes its event file on request, and checksums and
writes each event in a thread of its own (in pure Python). Flushed after every
millisecond epoch, or handed a few scalars every epoch, it costs a full-batch lesson
about as much as its arithmetic: the writer thread takes the interpreter from the
training loop every epoch. Here the scalars wait, and at most every ``seconds`` (and
when training ends) they are written and the file flushed in one go. A dashboard sees
a running run's curves within seconds, as it did when the file was flushed that often.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

#: Writes one epoch's scalars at a step.
Write = Callable[[Mapping[str, Any], int | None], None]


class WaitingScalars:
    """``add`` each epoch's scalars; ``write_if_due`` after each epoch; ``write_all`` at the end."""

    def __init__(self, write: Write, flush: Callable[[], None], seconds: float = 2.0) -> None:
        self.write, self.flush, self.seconds = write, flush, seconds
        self._waiting: list[tuple[Mapping[str, Any], int | None]] = []
        self._written_at: float | None = None

    def add(self, scalars: Mapping[str, Any], step: int | None) -> None:
        self._waiting.append((scalars, step))

    def write_if_due(self) -> None:
        """Write and flush if ``seconds`` have passed since the last time (or never did)."""
        now = time.monotonic()
        if self._written_at is None or now - self._written_at >= self.seconds:
            self.write_all()
            self._written_at = now

    def write_all(self) -> None:
        waiting, self._waiting = self._waiting, []
        for scalars, step in waiting:
            self.write(scalars, step)
        self.flush()
