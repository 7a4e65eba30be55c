"""Lightning callbacks of trainlab's own (``conf/callbacks``); the rest are Lightning's."""

from trainlab.callbacks.progress import ThrottledRichProgressBar

__all__ = ["ThrottledRichProgressBar"]
