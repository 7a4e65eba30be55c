"""Lightning callbacks of trainlab's own (``conf/callbacks``); the rest are Lightning's."""

from trainlab.callbacks.progress import QuietRichModelSummary, ThrottledRichProgressBar
from trainlab.callbacks.resume import BestCheckpoint, MidEpochCheckpoint

__all__ = ["BestCheckpoint", "MidEpochCheckpoint", "QuietRichModelSummary", "ThrottledRichProgressBar"]
