"""The activation table both engines build from (no torch or Keras import here).

Each name maps to the ``torch.nn`` class and the Keras activation that compute it, so a
config names an activation once and both engines build the same function. The two
lookups are the only places an activation name is checked.
"""

from __future__ import annotations

from trainlab.errors import ConfigError

# name -> (torch.nn class name, Keras activation name or None when Keras has none)
ACTIVATIONS: dict[str, tuple[str, str | None]] = {
    "relu": ("ReLU", "relu"),
    "tanh": ("Tanh", "tanh"),
    "sigmoid": ("Sigmoid", "sigmoid"),
    "gelu": ("GELU", "gelu"),
    "elu": ("ELU", "elu"),
    "selu": ("SELU", "selu"),
    "silu": ("SiLU", "silu"),
    "leaky_relu": ("LeakyReLU", "leaky_relu"),
    "softplus": ("Softplus", "softplus"),
    "mish": ("Mish", "mish"),
    "hardtanh": ("Hardtanh", None),
    "linear": ("Identity", "linear"),
}


def torch_activation(name: object, option: str = "model.activation") -> str:
    """The ``torch.nn`` class name for ``<option>=name``."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ConfigError(f"{option}={name!r} is invalid: expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name][0]


def keras_activation(name: object, option: str = "model.activation") -> str:
    """The Keras activation for ``<option>=name`` (``engine=keras``)."""
    torch_activation(name, option)
    keras_name = ACTIVATIONS[str(name)][1]
    if keras_name is None:
        usable = [n for n, (_, k) in ACTIVATIONS.items() if k]
        raise ConfigError(
            f"{option}={name!r} has no Keras counterpart (engine=keras); use one of {', '.join(usable)}"
        )
    return keras_name
