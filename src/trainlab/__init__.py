"""trainlab: Hydra composes data x model x optimizer into Lightning or Keras runs.

``from trainlab import train, evaluate`` is the Python API (``trainlab.api``). Importing
the package is cheap on purpose: Hydra is imported when the API is first used, and
torch, Lightning and Keras only by the engine that a run selects, so config errors
come back in about a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["RunResult", "compose", "evaluate", "resume", "train"]

if TYPE_CHECKING:
    from trainlab.api import RunResult, compose, evaluate, resume, train


def __getattr__(name: str) -> Any:
    if name in __all__:
        from trainlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
