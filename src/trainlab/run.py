"""The run directory: where a run's config, metrics and checkpoints live.

``outputs/<date>/<time>/`` holds ``.hydra/`` (the composed config), the TensorBoard
events, ``checkpoints/`` and ``metrics.json``. ``eval.py`` finds a run's config from a
checkpoint's path, so it needs no overrides.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from trainlab.errors import CheckpointError

METRICS_FILE = "metrics.json"


def run_dir_of_checkpoint(ckpt_path: Path) -> Path:
    """``<run>/checkpoints/best.ckpt`` -> ``<run>``."""
    return ckpt_path.resolve().parent.parent


def load_run_config(eval_cfg: DictConfig) -> DictConfig:
    """The training run's config, with this job's paths (data dir, output dir) swapped in."""
    ckpt_path = Path(str(eval_cfg.ckpt_path))
    if not ckpt_path.is_file():
        raise CheckpointError(f"checkpoint {ckpt_path} does not exist")
    config_file = run_dir_of_checkpoint(ckpt_path) / ".hydra" / "config.yaml"
    if not config_file.is_file():
        raise CheckpointError(
            f"{ckpt_path} is not inside a trainlab run: {config_file} not found "
            "(checkpoints live in <run>/checkpoints/)"
        )
    run_cfg = OmegaConf.load(config_file)
    assert isinstance(run_cfg, DictConfig)
    run_cfg.paths = eval_cfg.paths
    if eval_cfg.get("data") is not None:  # eval-time overrides such as data.data_dir
        run_cfg.data = OmegaConf.merge(run_cfg.data, eval_cfg.data)
    return run_cfg


def to_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in sorted(metrics.items())}


def write_metrics(run_dir: str | Path, metrics: dict[str, float], name: str = METRICS_FILE) -> Path:
    path = Path(run_dir) / name
    path.write_text(json.dumps(metrics, indent=2, allow_nan=True) + "\n")
    return path


def format_metrics(metrics: dict[str, float]) -> str:
    def show(value: float) -> str:
        return "nan" if math.isnan(value) else f"{value:.4f}"

    return "  ".join(f"{name}={show(value)}" for name, value in metrics.items())


def hparams_of(cfg: DictConfig, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's hyperparameters, flat, for TensorBoard's HPARAMS view."""
    params: dict[str, Any] = {f"config/{k}": v for k, v in (choices or {}).items() if v is not None}
    params["seed"] = cfg.get("seed")
    for group in ("data", "model", "optimizer", "scheduler"):
        node = cfg.get(group)
        if not isinstance(node, DictConfig):
            continue
        for key, value in node.items():
            if str(key).startswith("_") or key in ("data_dir", "mirrors"):
                continue
            resolved = (
                OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
            )
            params[f"{group}.{key}"] = (
                resolved if isinstance(resolved, int | float | str | bool) else str(resolved)
            )
    params["trainer.max_epochs"] = cfg.trainer.get("max_epochs")
    return {k: v for k, v in params.items() if v is not None}


def write_hparams(writer: Any, params: dict[str, Any], metrics: dict[str, float]) -> None:
    """Write the HPARAMS summaries into ``writer``'s run (a ``SummaryWriter``).

    The metric values are the scalars already logged under the same tags; unlike
    ``SummaryWriter.add_hparams`` this writes no second run directory.
    """
    from torch.utils.tensorboard.summary import hparams

    experiment, session_start, session_end = hparams(params, metrics)
    file_writer = writer._get_file_writer()
    for summary in (experiment, session_start, session_end):
        file_writer.add_summary(summary)
    writer.flush()
