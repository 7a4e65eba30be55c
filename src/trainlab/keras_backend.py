"""Keras on the torch backend: the only way trainlab imports Keras.

Keras picks its backend once, at import time, from ``KERAS_BACKEND`` (else from
``~/.keras/keras.json``, which defaults to TensorFlow, not installed here). The
DataModules hand out torch tensors, so the backend must be torch.
"""

from __future__ import annotations

import os
import sys

from trainlab.errors import ConfigError

BACKEND = "torch"
if "keras" not in sys.modules:  # the choice must precede the import
    os.environ["KERAS_BACKEND"] = BACKEND

import keras  # noqa: E402  (after the backend choice above)


def check_backend() -> None:
    """Fail in one line if Keras was imported with another backend before trainlab."""
    if keras.backend.backend() != BACKEND:
        raise ConfigError(
            f"engine=keras needs Keras' {BACKEND} backend, but Keras was already imported with "
            f"{keras.backend.backend()!r} (unset KERAS_BACKEND or set it to {BACKEND})"
        )


check_backend()

__all__ = ["BACKEND", "check_backend", "keras"]
