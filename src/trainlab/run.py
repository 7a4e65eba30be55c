"""The run directory: where a run's config, metrics and checkpoints live.

``outputs/<date>/<time>/`` holds ``.hydra/`` (the composed config), the TensorBoard
events, ``checkpoints/``, ``metrics.json`` and ``history.csv``. ``eval.py`` finds a
run's config from a checkpoint's path, so it needs no overrides.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from trainlab.errors import CheckpointError, WriteError

METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
CHECKPOINTS_DIR = "checkpoints"


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
            f"(checkpoints live in <run>/{CHECKPOINTS_DIR}/)"
        )
    run_cfg = OmegaConf.load(config_file)
    if not isinstance(run_cfg, DictConfig):
        raise CheckpointError(f"{config_file} is not a trainlab run config")
    run_cfg.paths = eval_cfg.paths
    if eval_cfg.get("data") is not None:  # eval-time overrides such as data.data_dir
        run_cfg.data = OmegaConf.merge(run_cfg.data, eval_cfg.data)
    if isinstance(run_cfg.get("trainer"), DictConfig):
        _evaluation_trainer(run_cfg.trainer, eval_cfg.get("trainer"))
    return run_cfg


#: How ``eval.py`` runs whatever the run trained on: one process, the plain network.
EVALUATION_TRAINER = {"devices": 1, "num_nodes": 1, "strategy": "auto", "compile": False}


def _command_line_keys() -> set[str]:
    """The keys set on this job's command line (``trainer.precision=bf16-mixed`` ...)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return set()
    hydra_node: DictConfig = HydraConfig.get()  # type: ignore[assignment]
    task = OmegaConf.select(hydra_node, "overrides.task", default=None) or []
    return {str(item).split("=", 1)[0].lstrip("+~") for item in task}


def _evaluation_trainer(trainer: DictConfig, chosen: DictConfig | None) -> None:
    """The run's trainer as ``eval.py`` uses it: the run's precision and matmul precision,
    on the device ``eval.py``'s ``trainer=cpu`` or ``trainer.accelerator=...`` chooses
    (else the run's own), in one process. A precision given on the command line
    (``trainer.precision=32-true``) replaces the run's.
    """
    with open_dict(trainer):
        if chosen is not None and chosen.get("accelerator") is not None:
            trainer.accelerator = chosen.accelerator
        if chosen is not None and "trainer.precision" in _command_line_keys():
            trainer.precision = chosen.precision
        trainer.update(EVALUATION_TRAINER)


def cpu_precision(run_cfg: DictConfig) -> str | None:
    """Float16 mixed precision needs a GPU: on a machine without one, evaluate in 32-bit
    (Lightning would switch to bfloat16 silently); the note says so.
    """
    from trainlab.config.environment import GPU_PRECISIONS, runs_on_gpu

    precision = run_cfg.trainer.get("precision")
    if precision not in GPU_PRECISIONS or runs_on_gpu(run_cfg):
        return None
    with open_dict(run_cfg.trainer):
        run_cfg.trainer.precision = "32-true"
    return (
        f"the run trained in trainer.precision={precision}, which needs a CUDA GPU: "
        "evaluating in 32-true (metrics may differ in the last digits)"
    )


def evaluate_checkpoint(eval_cfg: DictConfig) -> dict[str, float]:
    """``eval.py``: the test metrics of ``eval_cfg.ckpt_path``, by the engine that wrote it,
    in the run's precision, on the device the run used or the one ``eval.py`` is given.
    """
    from trainlab.engines import load_engine

    run_cfg = load_run_config(eval_cfg)
    note = cpu_precision(run_cfg)
    if note is not None:
        logging.getLogger("trainlab").warning(note)
    engine = load_engine(run_cfg)
    ckpt_path = str(eval_cfg.ckpt_path)
    if not ckpt_path.endswith(engine.checkpoint_suffix):
        raise CheckpointError(
            f"{ckpt_path} is not a checkpoint of engine={run_cfg.engine._target_.rsplit('.', 1)[-1]} "
            f"(its checkpoints end in {engine.checkpoint_suffix})"
        )
    return engine.evaluate(run_cfg, ckpt_path)


def resume_checkpoint(cfg: DictConfig, suffix: str, must_exist: bool = True) -> Path | None:
    """``<run>/checkpoints/last<suffix>`` when ``cfg`` continues a run (``resume=<run>``).

    ``must_exist=False``: the path alone, for a DDP rank whose machine may not have the
    file (rank 0 reads it for all).
    """
    if not cfg.get("resume"):
        return None
    path = Path(str(cfg.paths.output_dir)) / CHECKPOINTS_DIR / f"last{suffix}"
    if must_exist and not path.is_file():
        raise CheckpointError(f"{path} does not exist: {cfg.resume} has no checkpoint to continue from")
    return path


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A Lightning checkpoint's contents, or one line saying why it cannot be read.

    A truncated or corrupt file makes ``torch.load`` raise anything from ``EOFError``
    to ``RuntimeError``, with advice to load untrusted pickles; the message here names
    the file and what to do instead.
    """
    import torch

    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:  # any failure to read: one message, never the unsafe advice
        raise CheckpointError(
            f"{path} cannot be read ({type(error).__name__}): it is truncated or corrupt; "
            "use another checkpoint of the run (last or best)"
        ) from None
    return state


def to_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in sorted(metrics.items())}


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(temporary)`` and a rename: never half-written.

    The temporary file sits beside ``path`` (same filesystem, so the rename is atomic)
    and keeps its suffix (Keras saves only to ``.keras`` names). If writing fails (disk
    full, read-only), the previous ``path`` is untouched and the error says so.
    """
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        kept = "; the previous file is kept" if path.exists() else ""
        raise WriteError(f"cannot write {path}: {error.strerror or error}{kept}") from None
    return path


def write_metrics(run_dir: str | Path, metrics: dict[str, Any], name: str = METRICS_FILE) -> Path:
    """``metrics.json``: the final metrics (and, for a stopped run, its ``status``)."""
    text = json.dumps(metrics, indent=2, allow_nan=True) + "\n"
    return write_atomically(Path(run_dir) / name, lambda path: path.write_text(text))


def format_metrics(metrics: dict[str, float]) -> str:
    def show(value: float) -> str:
        return "nan" if math.isnan(value) else f"{value:.4f}"

    return "  ".join(f"{name}={show(value)}" for name, value in metrics.items())
