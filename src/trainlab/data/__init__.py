"""In-memory DataModules: every split is a pair of tensors served by batched indexing.

The names below are loaded on first use, so that ``trainlab.data.layouts`` (what each
DataModule's options promise, read by the pre-flight checks) imports without torch or
Lightning.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainlab.data.base import BatchLoader, DataSpec, Splits, TensorDataModule

__all__ = ["BatchLoader", "DataSpec", "Splits", "TensorDataModule"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("trainlab.data.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
