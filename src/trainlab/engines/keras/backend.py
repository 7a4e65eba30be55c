"""Keras on the torch backend: the only way this engine imports Keras.

Keras picks its backend once, at import time, from ``KERAS_BACKEND`` (else from
``~/.keras/keras.json``, which defaults to TensorFlow, not installed here). The
DataModules hand out torch tensors, so the backend must be torch.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from trainlab.errors import ConfigError

BACKEND = "torch"


def load_keras() -> ModuleType:
    """``keras``, imported with the torch backend; fails if another backend got there first."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = BACKEND
    import keras

    if keras.backend.backend() != BACKEND:
        raise ConfigError(
            f"engine=keras needs Keras' {BACKEND} backend, but Keras was already imported with "
            f"{keras.backend.backend()!r} (unset KERAS_BACKEND or set it to {BACKEND})"
        )
    return keras


keras = load_keras()
