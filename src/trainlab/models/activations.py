"""Activation names shared by both engines (no torch or Keras import here).

Each name maps to the torch.nn class and the Keras activation that compute it, so a
config names an activation once and both engines build the same function.
"""

from __future__ import annotations

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
