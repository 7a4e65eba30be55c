"""SIGINT and SIGTERM stop a run after its current step, never in the middle of one.

A job scheduler sends SIGTERM before preemption; a person presses Ctrl-C. Either way
the run should end as a run that can be continued: the step in flight finishes, the
engine writes its ``last`` checkpoint, ``metrics.json`` says ``interrupted``, and the
process exits with the shell's code for the signal (130, 143). A second Ctrl-C aborts
at once. ``StopSignals`` only records the signal; each engine checks it between steps.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

from trainlab.errors import RunInterrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """A context in which SIGINT/SIGTERM set ``received`` instead of killing the process."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for number in SIGNALS:
                self._previous[number] = signal.getsignal(number)
                signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.received is not None and number == signal.SIGINT:
            print("trainlab: aborted", file=sys.stderr, flush=True)
            os._exit(128 + number)
        if self.received is None:
            name = signal.Signals(number).name
            print(
                f"trainlab: {name} received: stopping after the current step "
                "(Ctrl-C again to abort at once)",
                file=sys.stderr,
                flush=True,
            )
        self.received = number

    def interruption(self, where: str) -> RunInterrupted:
        """The error that ends the run, once a signal was received."""
        assert self.received is not None
        name = signal.Signals(self.received).name
        return RunInterrupted(f"{name} stopped the run {where}", self.received)
