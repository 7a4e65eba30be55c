"""What TensorBoard shows of a run besides its epoch curves: HPARAMS, TEXT and IMAGES.

A run directory is one TensorBoard run: its epoch curves (``train/*``, ``val/*``, stepped
by epoch; see ``trainlab.loggers``), the figures, and a TEXT entry with the command line
and the composed config. Its HPARAMS session lives in the child run ``<run>/summary``:
the hyperparameters, the status, and the final metrics (exactly ``metrics.json``) as
scalars at the best epoch. HPARAMS takes a session's metric values from the last scalars
of the session's run and of its children, so a session in the run directory itself would
show the last epoch's ``val/*`` instead of the best checkpoint's.

No experiment summary is written: TensorBoard then builds the HPARAMS columns from every
session and every metric under ``--logdir``, and ranks the hyperparameters that differ
between runs first. All summaries are built with TensorBoard's own summary APIs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: The child run that holds a run's HPARAMS session and final metrics.
SUMMARY_RUN = "summary"
#: Config groups whose choice names a run (``optimizer: sgd``): shown as HPARAMS columns.
CHOICE_GROUPS = ("data", "model", "optimizer", "scheduler", "engine", "experiment", "baseline")
#: Config groups whose values are hyperparameters.
VALUE_GROUPS = ("data", "model", "optimizer", "scheduler")
TRAINER_KEYS = ("max_epochs", "precision", "gradient_clip_val", "accumulate_grad_batches")
# Keys that say where things are or how to build them, not what was trained.
_NOT_HYPERPARAMETERS = {"data_dir", "mirrors", "_target_", "_partial_", "_recursive_"}
Value = int | float | str | bool


def _flat(prefix: str, value: Any) -> dict[str, Value]:
    """A config value as HPARAMS columns: a list gives one numeric column per item and its
    length (``model.hidden.0``, ``model.hidden.1``, ``model.hidden.depth``).
    """
    if isinstance(value, bool | int | float | str):
        return {prefix: value}
    if isinstance(value, list | tuple):
        if all(isinstance(item, bool | int | float) for item in value):
            columns: dict[str, Value] = {f"{prefix}.{i}": item for i, item in enumerate(value)}
            return {**columns, f"{prefix}.depth": len(value)}
        return {prefix: ",".join(str(item) for item in value)}
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(f"{prefix}.{key}", item).items()}
    return {}  # None: the column stays empty for this run


def hparams_of(
    cfg: DictConfig, choices: Mapping[str, Any] | None = None, status: str | None = None
) -> dict[str, Value]:
    """The run's hyperparameters as HPARAMS columns: numbers stay numbers."""
    params: dict[str, Value] = {}
    for group in CHOICE_GROUPS:
        if (choices or {}).get(group) is not None:
            params[group] = str((choices or {})[group])
    if status is not None:
        params["status"] = status
    trial = cfg.get("trial")
    if isinstance(trial, DictConfig) and trial.get("number") is not None:
        params["study"], params["trial"] = str(trial.get("study_name")), int(trial.number)
    if cfg.get("seed") is not None:
        params["seed"] = int(cfg.seed)
    for group in VALUE_GROUPS:
        node = cfg.get(group)
        if not isinstance(node, DictConfig):
            continue
        values = OmegaConf.to_container(node, resolve=True)
        assert isinstance(values, dict)
        for key, value in values.items():
            if str(key).startswith("_") or key in _NOT_HYPERPARAMETERS:
                continue
            if key == "batch_size" and value == "full":  # the batch size column stays numeric
                params[f"{group}.full_batch"] = True
                continue
            if key == "pixel_scale":  # "unit" beside 255: one column of words
                value = str(value)
            params.update(_flat(f"{group}.{key!s}", value))
    for key in TRAINER_KEYS:
        value = (cfg.get("trainer") or {}).get(key)
        if value is not None:
            params.update(_flat(f"trainer.{key}", value))
    return params


def config_text(command: str, cfg: DictConfig) -> str:
    """The TEXT entry of a run: how to run it again and the config it ran with (Markdown)."""
    yaml = OmegaConf.to_yaml(cfg, resolve=False).rstrip()
    indented = "\n".join(f"    {line}" for line in yaml.splitlines())
    return f"**command**\n\n    {command}\n\n**config**\n\n{indented}"


def summary_text(status: str, reason: str, best_epoch: int | None, metrics: Mapping[str, float]) -> str:
    """The TEXT entry of a finished run: why it stopped and its final metrics (Markdown)."""
    rows = "\n".join(f"| {name} | {value:.6g} |" for name, value in metrics.items())
    best = f"; best epoch {best_epoch}" if best_epoch is not None else ""
    return f"**{status}**: {reason}{best}\n\n| metric | value |\n|---|---|\n{rows}"


def open_summaries(writer: Any) -> Any:
    """A ``FileWriter`` into the run directory of ``writer`` (a ``SummaryWriter``); close it."""
    from torch.utils.tensorboard.writer import FileWriter

    return FileWriter(writer.get_logdir())


_STATUS = {"finished": "STATUS_SUCCESS", "stopped_early": "STATUS_SUCCESS", "running": "STATUS_RUNNING"}


def write_session(
    run_dir: str | Path,
    trial_id: str,
    params: Mapping[str, Value],
    metrics: Mapping[str, float],
    status: str,
    step: int,
    summary: str,
    started: float | None = None,
) -> Path:
    """The run's HPARAMS session in ``<run_dir>/summary``, replacing one written before
    (a continued run finishes again): hyperparameters, ``metrics`` at ``step``, status.
    """
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from tensorboard.plugins.hparams.summary_v2 import hparams_pb
    from torch.utils.tensorboard import summary as torch_summary
    from torch.utils.tensorboard.writer import FileWriter

    scalar: Any = torch_summary.scalar  # untyped in torch
    text: Any = torch_summary.text

    directory = Path(run_dir) / SUMMARY_RUN
    earlier = list(directory.glob("events.out.tfevents.*")) if directory.is_dir() else []
    writer = FileWriter(str(directory))
    writer.add_summary(hparams_pb(dict(params), trial_id=trial_id, start_time_secs=started), 0)
    for name, value in metrics.items():
        writer.add_summary(scalar(name, value), step)
    writer.add_summary(text("run/summary", summary), step)
    end = plugin_data_pb2.SessionEndInfo(
        status=api_pb2.Status.Value(_STATUS.get(status, "STATUS_FAILURE")),
        end_time_secs=time.time(),
    )
    content = metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(session_end_info=end))
    value = Summary.Value(
        tag=metadata.SESSION_END_INFO_TAG, metadata=content, tensor=metadata.NULL_TENSOR
    )
    writer.add_summary(Summary(value=[value]), step)
    writer.close()
    for path in earlier:
        path.unlink(missing_ok=True)
    return directory


def add_png(summaries: Any, tag: str, png: bytes, shape: tuple[int, ...], step: int) -> None:
    """``SummaryWriter.add_image`` with the PNG already encoded (it would encode it again)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    height, width, channels = shape
    image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
    summaries.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
