"""The MLP description: one config, built as a torch module or a Keras model.

The description holds only what a config says (widths, activations, dropout, how the
weights start); the input and output sizes come from the datamodule's ``DataSpec``
when it is built, so ``data=housing model=mlp_dropout`` needs no hand-synced numbers.

``init`` chooses the initial weights' distribution, the same on both engines, so a
lesson taught in Keras starts from Keras' weights when Lightning trains it and the
reverse:

- ``keras``: Glorot-uniform kernels, ``U(±sqrt(6 / (fan_in + fan_out)))``, zero biases
  (``keras.layers.Dense``'s defaults);
- ``torch``: ``torch.nn.Linear``'s defaults, kernels and biases ``U(±1 / sqrt(fan_in))``
  (kaiming-uniform with ``a = sqrt(5)``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trainlab.errors import ConfigError
from trainlab.models.activations import keras_activation, torch_activation

if TYPE_CHECKING:
    import keras
    from torch import nn

    from trainlab.data.base import DataSpec

#: ``model.init`` choices: whose library's default initial weights both engines use.
INITS = ("keras", "torch")


def check_init(init: object) -> str:
    """``init`` when it is one of ``INITS``; else the one-line error."""
    if not isinstance(init, str) or init not in INITS:
        raise ConfigError(f"model.init={init!r} is invalid: expected one of {', '.join(INITS)}")
    return init


def torch_bound(fan_in: int) -> float:
    """``torch.nn.Linear``'s bound for kernels and biases: 1 / sqrt(fan_in)."""
    return 1.0 / math.sqrt(fan_in)


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Glorot-uniform's bound: sqrt(6 / (fan_in + fan_out))."""
    return math.sqrt(6.0 / (fan_in + fan_out))


@dataclass
class MLP:
    """Flatten -> [Dense -> activation -> Dropout] x len(hidden) -> Dense [-> output_activation].

    ``output_activation`` (default none: logits or a linear regression output) is for
    regression outputs such as a ReLU on a price; a classifier's loss takes logits.
    """

    hidden: Sequence[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    dropout: float = 0.0
    init: str = "torch"
    output_activation: str | None = None

    def __post_init__(self) -> None:
        self.hidden = list(self.hidden)
        torch_activation(self.activation)
        if self.output_activation is not None:
            torch_activation(self.output_activation, "model.output_activation")
        check_init(self.init)

    def layer_names(self) -> list[str]:
        """Names of the weight layers, shared by both engines so weights map one to one."""
        return [f"dense_{i + 1}" for i in range(len(self.hidden))] + ["output"]

    def _torch_linear(self, fan_in: int, fan_out: int) -> nn.Linear:
        from torch import nn

        layer = nn.Linear(fan_in, fan_out)  # torch's own init, drawn as nn.Linear draws it
        if self.init == "keras":
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        return layer

    def build_torch(self, spec: DataSpec) -> nn.Sequential:
        from torch import nn

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if len(spec.input_shape) > 1:
            layers["flatten"] = nn.Flatten()
        width = math.prod(spec.input_shape)
        activation = getattr(nn, torch_activation(self.activation))
        names = self.layer_names()
        for i, units in enumerate(self.hidden):
            layers[names[i]] = self._torch_linear(width, units)
            layers[f"{self.activation}_{i + 1}"] = activation()
            if self.dropout > 0:
                layers[f"dropout_{i + 1}"] = nn.Dropout(self.dropout)
            width = units
        layers["output"] = self._torch_linear(width, spec.num_outputs)
        if self.output_activation is not None:
            output_activation = getattr(nn, torch_activation(self.output_activation))
            layers[f"output_{self.output_activation}"] = output_activation()
        return nn.Sequential(layers)

    def _keras_initializers(self, fan_in: int) -> dict[str, Any]:
        """Dense's initializer arguments for ``init`` (Keras' own defaults for ``keras``)."""
        from trainlab.keras_backend import keras

        if self.init == "keras":
            return {"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}
        bound = torch_bound(fan_in)
        return {
            # VarianceScaling's uniform limit is sqrt(3 * scale / fan_in): 1 / sqrt(fan_in).
            "kernel_initializer": keras.initializers.VarianceScaling(
                scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
            ),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
        }

    def build_keras(self, spec: DataSpec) -> keras.Sequential:
        """The same network as a named ``keras.Sequential`` (Dense layers take the activation).

        Layer names equal the torch module's, so weights map one to one and a saved
        ``.keras`` file reloads with its names.
        """
        from trainlab.keras_backend import keras

        activation = keras_activation(self.activation)
        output_activation = (
            None
            if self.output_activation is None
            else keras_activation(self.output_activation, "model.output_activation")
        )
        layers: list[keras.Layer] = [keras.Input(shape=spec.input_shape, name="input")]
        if len(spec.input_shape) > 1:
            layers.append(keras.layers.Flatten(name="flatten"))
        names = self.layer_names()
        width = math.prod(spec.input_shape)
        for i, units in enumerate(self.hidden):
            layers.append(
                keras.layers.Dense(
                    units, activation=activation, name=names[i], **self._keras_initializers(width)
                )
            )
            if self.dropout > 0:
                layers.append(keras.layers.Dropout(self.dropout, name=f"dropout_{i + 1}"))
            width = units
        layers.append(
            keras.layers.Dense(
                spec.num_outputs,
                activation=output_activation,
                name="output",
                **self._keras_initializers(width),
            )
        )
        return keras.Sequential(layers, name="mlp")
