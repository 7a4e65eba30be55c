"""The MLP description: one config, built as a torch module or a Keras model.

The description holds only what a config says (widths, activation, dropout); the
input and output sizes come from the datamodule's ``DataSpec`` when it is built, so
``data=housing model=mlp_dropout`` needs no hand-synced numbers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trainlab.models.activations import keras_activation, torch_activation

if TYPE_CHECKING:
    import keras
    from torch import nn

    from trainlab.data.base import DataSpec


@dataclass
class MLP:
    """Flatten -> [Dense -> activation -> Dropout] x len(hidden) -> Dense (logits)."""

    hidden: Sequence[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        self.hidden = list(self.hidden)
        torch_activation(self.activation)

    def layer_names(self) -> list[str]:
        """Names of the weight layers, shared by both engines so weights map one to one."""
        return [f"dense_{i + 1}" for i in range(len(self.hidden))] + ["output"]

    def build_torch(self, spec: DataSpec) -> nn.Sequential:
        from torch import nn

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if len(spec.input_shape) > 1:
            layers["flatten"] = nn.Flatten()
        width = 1
        for size in spec.input_shape:
            width *= size
        activation = getattr(nn, torch_activation(self.activation))
        names = self.layer_names()
        for i, units in enumerate(self.hidden):
            layers[names[i]] = nn.Linear(width, units)
            layers[f"{self.activation}_{i + 1}"] = activation()
            if self.dropout > 0:
                layers[f"dropout_{i + 1}"] = nn.Dropout(self.dropout)
            width = units
        layers["output"] = nn.Linear(width, spec.num_outputs)
        return nn.Sequential(layers)

    def build_keras(self, spec: DataSpec) -> keras.Sequential:
        """The same network as a named ``keras.Sequential`` (Dense layers take the activation).

        Layer names equal the torch module's, so weights map one to one and a saved
        ``.keras`` file reloads with its names.
        """
        from trainlab.keras_backend import keras

        activation = keras_activation(self.activation)
        layers: list[keras.Layer] = [keras.Input(shape=spec.input_shape, name="input")]
        if len(spec.input_shape) > 1:
            layers.append(keras.layers.Flatten(name="flatten"))
        names = self.layer_names()
        for i, units in enumerate(self.hidden):
            layers.append(keras.layers.Dense(units, activation=activation, name=names[i]))
            if self.dropout > 0:
                layers.append(keras.layers.Dropout(self.dropout, name=f"dropout_{i + 1}"))
        layers.append(keras.layers.Dense(spec.num_outputs, name="output"))
        return keras.Sequential(layers, name="mlp")
