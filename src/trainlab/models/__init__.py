"""Model descriptions that both engines build (torch here, Keras in the Keras engine)."""

from trainlab.models.mlp import MLP

__all__ = ["MLP"]
