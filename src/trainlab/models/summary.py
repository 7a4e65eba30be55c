"""The layer table (name, type, output shape, parameters), the same for both engines.

The engines print their own summaries while training (Lightning's ``RichModelSummary``,
Keras' ``model.summary``); this table is the one saved with every run, in one format,
so a Lightning run and a Keras run of the same config can be compared line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY_FILE = "model_summary.txt"


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


def torch_layers(network: Any, input_shape: tuple[int, ...]) -> list[Layer]:
    """The top-level layers of a torch ``Sequential``, their output shapes from one forward pass."""
    import torch

    shapes: dict[str, tuple[int | None, ...]] = {}
    hooks = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, (None, *out.shape[1:]))
        )
        for name, module in network.named_children()
    ]
    device = next(network.parameters()).device
    was_training = network.training
    try:
        network.eval()
        with torch.no_grad():
            network(torch.zeros(1, *input_shape, device=device))
    finally:
        network.train(was_training)
        for hook in hooks:
            hook.remove()
    return [
        Layer(name, type(module).__name__, shapes[name], sum(p.numel() for p in module.parameters()))
        for name, module in network.named_children()
    ]


def keras_layers(model: Any) -> list[Layer]:
    return [
        Layer(layer.name, type(layer).__name__, tuple(layer.output.shape), int(layer.count_params()))
        for layer in model.layers
    ]


def format_table(layers: list[Layer]) -> str:
    def shape(dims: tuple[int | None, ...]) -> str:
        return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"

    rows = [("layer", "type", "output shape", "params")]
    rows += [
        (layer.name, layer.kind, shape(layer.output_shape), f"{layer.params:,}") for layer in layers
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    total = sum(layer.params for layer in layers)
    return "\n".join([*lines, "-" * len(lines[0]), f"total parameters: {total:,}"]) + "\n"


def write_summary(layers: list[Layer], run_dir: str | Path) -> Path:
    path = Path(run_dir) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_table(layers))
    return path
