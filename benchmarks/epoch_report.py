"""The epoch benchmark's result: each row's numbers, the ratios of medians, what each engine
adds over its library's plain code, the tables."""

from __future__ import annotations

import math
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.common import Row
from benchmarks.floor import linear_shapes
from trainlab.data.base import TensorDataModule

LABELS = {
    "raw": "raw loop (batched indexing)",
    "lightning_plain": "plain Lightning (LightningModule + DataLoader)",
    "trainlab": "trainlab (Lightning engine)",
    "keras_plain": "plain Keras fit (no engine callbacks)",
    "keras": "trainlab (Keras engine)",
    "per_sample": "per-sample Dataset + DataLoader",
    "floor": "compute floor (GEMM)",
}
SHORT_LABELS = {
    "raw": "raw loop",
    "lightning_plain": "plain Lightning",
    "trainlab": "Lightning engine",
    "keras_plain": "plain Keras fit",
    "keras": "Keras engine",
    "per_sample": "per-sample DataLoader",
    "floor": "compute floor",
}
# Ratio name -> (numerator row, denominator row), of the rows' medians.
RATIOS = {
    "trainlab/raw": ("trainlab", "raw"),
    "trainlab/lightning_plain": ("trainlab", "lightning_plain"),
    "keras/keras_plain": ("keras", "keras_plain"),
    "per_sample/trainlab": ("per_sample", "trainlab"),
    "trainlab/floor": ("trainlab", "floor"),
    "keras/raw": ("keras", "raw"),
}
# Engine -> (its row, the row of its library's plain code).
ENGINES = {"lightning": ("trainlab", "lightning_plain"), "keras": ("keras", "keras_plain")}


def ratios(rows: dict[str, Row]) -> dict[str, float | None]:
    def ratio(top: float | None, bottom: float | None) -> float | None:
        return top / bottom if top is not None and bottom else None

    return {name: ratio(rows[a].median, rows[b].median) for name, (a, b) in RATIOS.items()}


def engine_overhead(rows: dict[str, Row], steps: int) -> dict[str, dict[str, Any]]:
    """What each engine adds over its library's plain code: per epoch, and per training
    step (the epoch's difference, validation included, over its ``steps``)."""
    overhead = {}
    for engine, (row, plain) in ENGINES.items():
        top, bottom = rows[row].median, rows[plain].median
        extra = top - bottom if top is not None and bottom is not None else None
        overhead[engine] = {
            "engine_row": row,
            "plain_row": plain,
            "ms_per_epoch": 1e3 * extra if extra is not None else None,
            "us_per_step": 1e6 * extra / steps if extra is not None else None,
        }
    return overhead


def train_steps(datamodule: TensorDataModule) -> int:
    """Optimizer steps per epoch: training batches, the last one possibly short."""
    return math.ceil(train_samples(datamodule) / datamodule.batch_size)


def row_data(row: Row, n_train: int) -> dict[str, Any]:
    median = row.median
    return {
        "label": LABELS[row.name],
        "available": row.unavailable is None and median is not None,
        "reason": row.unavailable,
        "seconds_per_epoch": {
            "median": median,
            "min": min(row.seconds, default=None),
            "max": max(row.seconds, default=None),
            "runs": row.seconds,
        },
        "samples_per_second": n_train / median if median else None,
    }


def train_samples(datamodule: TensorDataModule) -> int:
    assert datamodule.splits is not None
    return len(datamodule.splits.train[0])


def describe(cfg: DictConfig, datamodule: TensorDataModule) -> dict[str, Any]:
    """What was trained: data, layers, optimizer, batch sizes and split sizes."""
    assert datamodule.splits is not None
    shapes = linear_shapes(instantiate(cfg.model).build_torch(datamodule.spec))
    return {
        "data": cfg.data._target_,
        "layers": "-".join(str(n) for n in [shapes[0][0], *(out for _, out in shapes)]),
        "activation": cfg.model.get("activation"),
        "optimizer": cfg.optimizer._target_,
        "batch_size": datamodule.batch_size,
        "eval_batch_size": datamodule.eval_batch_size,
        "train_samples": train_samples(datamodule),
        "train_steps": train_steps(datamodule),
        "val_samples": len(datamodule.splits.val[0]),
    }


def print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    config, machine_info = result["config"], result["machine"]
    title = (
        f"{config['data'].rsplit('.', 1)[-1]}, {config['layers']} {config['activation']}, "
        f"batch {config['batch_size']}, {config['optimizer'].rsplit('.', 1)[-1]}: "
        f"{config['train_samples']} train + {config['val_samples']} val samples, "
        f"median of {config['reps']}"
    )
    table = Table(
        title=title,
        caption=f"{machine_info['cpu']}, {machine_info['cores']} cores, "
        f"{machine_info['torch_threads']} torch threads, device {machine_info['device']}",
    )
    for column in ("row", "s/epoch", "min-max", "samples/s", "x raw"):
        table.add_column(column, justify="left" if column == "row" else "right")
    raw = result["rows"]["raw"]["seconds_per_epoch"]["median"]
    for row in result["rows"].values():
        seconds = row["seconds_per_epoch"]
        if not row["available"]:
            table.add_row(row["label"], "not available", row["reason"] or "", "", "")
            continue
        table.add_row(
            row["label"],
            f"{seconds['median']:.3f}",
            f"{seconds['min']:.3f}-{seconds['max']:.3f}",
            f"{row['samples_per_second']:,.0f}",
            f"{seconds['median'] / raw:.2f}" if raw else "",
        )
    compared = Table(title="ratios of the medians")
    for column in ("ratio", "compares", "value"):
        compared.add_column(column, justify="right" if column == "value" else "left")
    for name, (top, bottom) in RATIOS.items():
        value = result["ratios"][name]
        shown = f"{value:.2f}" if value is not None else "not available"
        compared.add_row(name, f"{SHORT_LABELS[top]} / {SHORT_LABELS[bottom]}", shown)
    added = Table(title="what each engine adds over its library's plain code")
    for column in ("engine", "over", "ms/epoch", "us/step"):
        added.add_column(column, justify="left" if column in ("engine", "over") else "right")
    for extra in result["engine_overhead"].values():
        ms, us = extra["ms_per_epoch"], extra["us_per_step"]
        added.add_row(
            SHORT_LABELS[extra["engine_row"]],
            SHORT_LABELS[extra["plain_row"]],
            f"{ms:+.1f}" if ms is not None else "not available",
            f"{us:+.0f}" if us is not None else "",
        )
    console = Console()
    console.print(table)
    console.print(compared)
    console.print(added)
