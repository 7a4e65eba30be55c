"""What trainlab writes into TensorBoard beyond scalars: HPARAMS entries and images.

Both engines log scalars through a ``torch.utils.tensorboard.SummaryWriter`` (the
Lightning ``TensorBoardLogger``'s ``experiment``, or the Keras engine's own). The
summaries written here are protocol buffers built by TensorBoard's own summary APIs;
they go through a ``FileWriter`` opened on the same run directory (``open_summaries``),
which TensorBoard reads as the same run.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

# Config keys that say where things are, not what was trained.
_NOT_HYPERPARAMETERS = ("data_dir", "mirrors")


def hparams_of(cfg: DictConfig, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's hyperparameters, flat, for TensorBoard's HPARAMS view."""
    params: dict[str, Any] = {f"config/{k}": v for k, v in (choices or {}).items() if v is not None}
    params["seed"] = cfg.get("seed")
    for group in ("data", "model", "optimizer", "scheduler"):
        node = cfg.get(group)
        if not isinstance(node, DictConfig):
            continue
        for key, value in node.items():
            if str(key).startswith("_") or key in _NOT_HYPERPARAMETERS:
                continue
            resolved = (
                OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
            )
            params[f"{group}.{key!s}"] = (
                resolved if isinstance(resolved, int | float | str | bool) else str(resolved)
            )
    params["trainer.max_epochs"] = cfg.trainer.get("max_epochs")
    return {k: v for k, v in params.items() if v is not None}


def open_summaries(writer: Any) -> Any:
    """A ``FileWriter`` into the run directory of ``writer`` (a ``SummaryWriter``); close it."""
    from torch.utils.tensorboard.writer import FileWriter

    return FileWriter(writer.get_logdir())


def write_hparams(summaries: Any, params: dict[str, Any], metrics: dict[str, float]) -> None:
    """The run's HPARAMS entry: its hyperparameters and final ``metrics``.

    Unlike ``SummaryWriter.add_hparams`` this writes into the run's own directory
    instead of a second run directory.
    """
    from torch.utils.tensorboard import summary

    build: Any = summary.hparams  # untyped in torch
    for summary_pb in build(params, metrics):
        summaries.add_summary(summary_pb)
    summaries.flush()


def add_png(summaries: Any, tag: str, png: bytes, shape: tuple[int, ...], step: int) -> None:
    """``SummaryWriter.add_image`` with the PNG already encoded (it would encode it again)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    height, width, channels = shape
    image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
    summaries.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
