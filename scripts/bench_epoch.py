"""Seconds per training epoch: trainlab beside a raw loop, a per-sample DataLoader and Keras.

    python scripts/bench_epoch.py                        # MNIST, 784-256-256-10 ReLU, SGD
    python scripts/bench_epoch.py data=digits model=mlp_dropout reps=3 max_samples=500

Every argument is a trainlab override (the same config ``train.py`` composes) except
``reps``, ``warmup``, ``max_samples``, ``threads`` and ``output``. One epoch is one pass
over the training split plus one over the validation split; all rows run on the same
in-memory tensors, interleaved (raw, trainlab, keras, per-sample, floor; the order
rotates each repetition) so a noisy neighbour slows them alike. Medians are what the
ratios use.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_args import split_options, write_result  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import DictConfig  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from trainlab.data.base import Batch, Splits, TensorDataModule  # noqa: E402
from trainlab.engines.common import build_datamodule  # noqa: E402
from trainlab.tasks import Task, make_task  # noqa: E402

# The default benchmark; any of these groups given on the command line wins.
DEFAULT_CHOICES = {"data": "mnist", "model": "mlp", "optimizer": "sgd"}
# Options of this script, not of the trainlab config.
# threads=0 keeps torch's default (one per core).
BENCH_OPTIONS = {"reps": 5, "warmup": 1, "max_samples": 0, "threads": 0, "output": "bench/epoch.json"}
# Issue 6's targets: (ratio name, comparison, bound).
TARGETS = {
    "trainlab/raw": ("<=", 1.3),
    "per_sample/trainlab": (">=", 3.0),
    "trainlab/floor": ("<=", 3.0),
    "keras/raw": ("<=", 2.0),
}
# The engine rows run a whole fit of this many epochs and time the last one: a
# steady-state epoch (training, validation, callbacks, logging, checkpoints), as the raw
# rows time an epoch of an already built network; set-up is bench_startup.py's business.
ENGINE_EPOCHS = 2
GEMM_TRIAL_SECONDS = 0.002  # short trials, so some fall between a busy neighbour's bursts
ROWS = ("raw", "trainlab", "keras", "per_sample", "floor")
LABELS = {
    "raw": "raw loop (batched indexing)",
    "trainlab": "trainlab (Lightning engine)",
    "keras": "trainlab (Keras engine)",
    "per_sample": "per-sample Dataset + DataLoader",
    "floor": "compute floor (GEMM)",
}


# ----------------------------------------------------------------------------- options


@dataclass
class Options:
    reps: int
    warmup: int
    max_samples: int
    threads: int
    output: Path
    overrides: list[str]


def parse_args(argv: list[str]) -> Options:
    """Split the bench's own ``key=value`` options from the trainlab overrides."""
    own, overrides = split_options(argv, BENCH_OPTIONS, __doc__ or "")
    groups = {arg.partition("=")[0].lstrip("+~") for arg in overrides}
    defaults = [f"{group}={choice}" for group, choice in DEFAULT_CHOICES.items() if group not in groups]
    return Options(
        reps=int(own["reps"]),
        warmup=int(own["warmup"]),
        max_samples=int(own["max_samples"]),
        threads=int(own["threads"]),
        output=Path(str(own["output"])),
        overrides=defaults + overrides,
    )


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """The config ``train.py`` would run, outside a Hydra run, for ``ENGINE_EPOCHS`` epochs."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                *overrides,
                f"trainer.max_epochs={ENGINE_EPOCHS}",
                f"paths.output_dir={output_dir}",
            ],
        )


# -------------------------------------------------------------------------------- data


def truncate(splits: Splits, max_samples: int) -> Splits:
    """At most ``max_samples`` of each split (for a quick run); 0 keeps everything."""
    if max_samples <= 0:
        return splits
    cut = lambda pair: tuple(t[:max_samples] for t in pair)  # noqa: E731
    return Splits(cut(splits.train), cut(splits.val), cut(splits.test))


def load_data(cfg: DictConfig, max_samples: int) -> TensorDataModule:
    """trainlab's DataModule, loaded once; every row trains on its tensors."""
    datamodule = build_datamodule(cfg)
    assert datamodule.splits is not None
    datamodule.splits = truncate(datamodule.splits, max_samples)
    return datamodule


def device_of(cfg: DictConfig) -> torch.device:
    """The device trainlab's trainer picks, so every row computes on the same one."""
    wanted = str(cfg.trainer.get("accelerator", "auto"))
    use_cuda = torch.cuda.is_available() and wanted in ("auto", "gpu", "cuda")
    return torch.device("cuda" if use_cuda else "cpu")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------- the shared loop


def build_network(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> nn.Module:
    torch.manual_seed(cfg.seed)
    return instantiate(cfg.model).build_torch(datamodule.spec).to(device)


def run_epoch(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    task: Task,
    train: Iterable[Batch],
    val: Iterable[Batch],
    device: torch.device,
) -> float:
    """One hand-written epoch: train pass, then a validation pass with loss and metrics.

    Validation accumulates on the device and syncs once, as trainlab does, so both
    loops compute the same things.
    """
    network.train()
    for x, y in train:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = task.loss(network(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    network.eval()
    metrics = {name: metric.to(device) for name, metric in task.metrics().items()}
    total = torch.zeros((), device=device)
    with torch.no_grad():
        for x, y in val:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            output = network(x)
            total += task.loss(output, y) * len(x)
            for metric in metrics.values():
                metric.update(task.metric_inputs(output), y)
    results = [total, *(metric.compute() for metric in metrics.values())]
    return float(torch.stack([r.float() for r in results]).sum())  # the one host sync


def timed(device: torch.device, work: Callable[[], Any]) -> float:
    synchronize(device)
    start = perf_counter()
    work()
    synchronize(device)
    return perf_counter() - start


# ------------------------------------------------------------------------ raw loop


def index_batches(pair: Batch, batch_size: int, shuffle: bool) -> Iterator[Batch]:
    """``x[idx], y[idx]`` per batch: one gather each, as a hand-written loop does it."""
    x, y = pair
    order = torch.randperm(len(x), device=x.device) if shuffle else None
    for start in range(0, len(x), batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            index = order[start : start + batch_size]
            yield x[index], y[index]


def raw_epoch(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> float:
    splits = datamodule.splits
    assert splits is not None
    splits = splits.to(device)
    network = build_network(cfg, datamodule, device)
    optimizer = instantiate(cfg.optimizer)(network.parameters())
    task = make_task(datamodule.spec)
    return timed(
        device,
        lambda: run_epoch(
            network,
            optimizer,
            task,
            index_batches(splits.train, datamodule.batch_size, shuffle=True),
            index_batches(splits.val, datamodule.eval_batch_size, shuffle=False),
            device,
        ),
    )


# ------------------------------------------------------------- per-sample DataLoader


class ToTensor:
    """torchvision-style: one PIL image or array -> float tensor; 8-bit pixels scaled by 1/255."""

    def __call__(self, sample: Any) -> torch.Tensor:
        if isinstance(sample, Image.Image):
            sample = np.array(sample, np.uint8, copy=True)
        tensor = torch.from_numpy(np.ascontiguousarray(sample))
        if tensor.dtype == torch.uint8:
            return tensor.to(torch.float32).div(255)
        return tensor.to(torch.float32, copy=True)


class Normalize:
    """torchvision-style ``(x - mean) / std`` on one sample."""

    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.sub(self.mean).div(self.std)


class Compose:
    def __init__(self, transforms: list[Callable[[Any], Any]]) -> None:
        self.transforms = transforms

    def __call__(self, sample: Any) -> Any:
        for transform in self.transforms:
            sample = transform(sample)
        return sample


def stored_as_in_templates(x: torch.Tensor) -> np.ndarray:
    """The array a template's Dataset keeps: uint8 pixels when the values are k/255
    (MNIST, as torchvision stores it), else float32 features."""
    values = x.cpu().numpy()
    pixels = np.round(values * 255)
    if values.min() >= 0 and values.max() <= 1 and np.array_equal(pixels / 255, values):
        return pixels.astype(np.uint8)
    return values.astype(np.float32)


class PerSampleDataset(Dataset):
    """The common template: ``__getitem__`` returns one transformed sample and its label.

    ``Normalize(0, 1)`` keeps the values trainlab trains on while paying the template's
    per-sample cost. Images become PIL images first, as torchvision's MNIST does.
    """

    def __init__(self, pair: Batch) -> None:
        self.samples = stored_as_in_templates(pair[0])
        self.targets = pair[1].cpu().numpy()
        self.transform = Compose([ToTensor(), Normalize(0.0, 1.0)])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        target = self.targets[index]
        label = int(target) if target.ndim == 0 else torch.from_numpy(target)
        sample = self.samples[index]
        if sample.dtype == np.uint8 and sample.ndim == 2:  # torchvision's MNIST.__getitem__
            sample = Image.fromarray(sample)
        return self.transform(sample), label


def per_sample_epoch(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> float:
    splits = datamodule.splits
    assert splits is not None
    pin = device.type == "cuda"
    train = DataLoader(
        PerSampleDataset(splits.train), datamodule.batch_size, shuffle=True, pin_memory=pin
    )
    val = DataLoader(PerSampleDataset(splits.val), datamodule.eval_batch_size, pin_memory=pin)
    network = build_network(cfg, datamodule, device)
    optimizer = instantiate(cfg.optimizer)(network.parameters())
    task = make_task(datamodule.spec)
    return timed(device, lambda: run_epoch(network, optimizer, task, train, val, device))


# ------------------------------------------------------------------ trainlab engines


def trainlab_epoch(cfg: DictConfig, datamodule: TensorDataModule, run_dir: Path) -> float:
    """The last epoch of a ``Trainer.fit`` built as ``LightningEngine.fit`` builds it.

    Default callbacks (checkpointing, early stopping, rich progress bar, LR monitor,
    model summary) and the TensorBoard logger run in the timed epoch, validation
    included; the data is the DataModule already loaded, as every row's is.
    """
    import lightning.pytorch as pl

    from trainlab.engines.common import (
        EpochHistory,
        call_all,
        epoch_end_hooks,
        freeze_startup_objects,
        route_library_logs,
    )
    from trainlab.engines.lightning import build_module, build_trainer

    class EpochTimer(pl.Callback):
        def __init__(self) -> None:
            self.seconds: list[float] = []

        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            synchronize(module.device)
            self.start = perf_counter()

        def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            synchronize(module.device)
            self.seconds.append(perf_counter() - self.start)

    cfg.paths.output_dir = str(run_dir)
    route_library_logs()
    freeze_startup_objects()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    module = build_module(cfg, datamodule.spec, call_all([EpochHistory(), *epoch_end_hooks(cfg)]))
    timer = EpochTimer()
    trainer = build_trainer(cfg, extra_callbacks=[timer])
    trainer.fit(module, datamodule=datamodule)
    return timer.seconds[-1]


def keras_epoch(cfg: DictConfig, datamodule: TensorDataModule, run_dir: Path) -> float:
    """The last epoch of a ``model.fit`` built as the Keras engine's ``fit`` builds it.

    The engine's model builder, optimizer translation, batches and callbacks (checkpoints,
    early stopping, TensorBoard scalars, epoch hooks) over the same DataModule tensors.
    """
    try:
        from trainlab.engines.common import freeze_startup_objects
        from trainlab.engines.keras.backend import keras
        from trainlab.engines.keras.optimizers import build_optimizer
        from trainlab.engines.keras.settings import FitSettings
        from trainlab.engines.keras.training import (
            build_callbacks,
            compile_model,
            keras_batches,
            on_device,
        )
    except ImportError as error:  # the engine is not installed or cannot run here
        raise Unavailable(f"the Keras engine does not import: {error}") from None

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:  # after validation
            self.seconds.append(perf_counter() - self.start)

    cfg.paths.output_dir = str(run_dir)
    spec = datamodule.spec
    settings = FitSettings.from_trainer(cfg.trainer)
    keras.utils.set_random_seed(int(cfg.seed))
    freeze_startup_objects()
    with on_device(settings.device):
        network = instantiate(cfg.model).build_keras(spec)
        model = compile_model(network, spec, build_optimizer(cfg.optimizer))
        train = keras_batches(datamodule.train_dataloader(), spec, settings.train_limit)
        val = keras_batches(datamodule.val_dataloader(), spec, settings.val_limit)
        callbacks, _, writer = build_callbacks(cfg, spec, settings, train)
        timer = EpochTimer()
        model.fit(
            train,
            validation_data=val,
            epochs=ENGINE_EPOCHS,
            shuffle=False,
            callbacks=[*callbacks, timer],
            verbose=2,
        )
    if writer is not None:
        writer.close()
    return timer.seconds[-1]


class Unavailable(Exception):
    """A row that cannot run here; the table and JSON say why."""


# ---------------------------------------------------------------------- compute floor


def linear_shapes(network: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in network.modules() if isinstance(m, nn.Linear)]


def gemm_seconds(
    shapes: list[tuple[int, int]], batch: int, backward: bool, device: torch.device
) -> tuple[float, float]:
    """Seconds and FLOPs (2·m·n·k each) of the layer GEMMs of one step.

    Forward is ``x @ W.T``; backward adds ``grad @ W`` and ``grad.T @ x``. Each GEMM
    keeps its fastest of many short trials: the floor is what the machine can do, and
    on a shared machine slower trials measure the neighbours.
    """
    operands = []
    for fan_in, fan_out in shapes:
        x, w = torch.randn(batch, fan_in, device=device), torch.randn(fan_out, fan_in, device=device)
        g = torch.randn(batch, fan_out, device=device)
        operands.append((x, w.t().contiguous()))
        if backward:
            operands += [(g, w), (g.t().contiguous(), x)]
    seconds = sum(fastest_matmul(a, b, device) for a, b in operands)
    flops = sum(2.0 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in operands)
    return seconds, flops


def fastest_matmul(a: torch.Tensor, b: torch.Tensor, device: torch.device, trials: int = 20) -> float:
    out = torch.empty(a.shape[0], b.shape[1], device=device)
    run = lambda: torch.matmul(a, b, out=out)  # noqa: E731
    calls = max(1, round(GEMM_TRIAL_SECONDS / max(timed(device, run), 1e-7)))
    return min(timed(device, lambda: [run() for _ in range(calls)]) / calls for _ in range(trials))


@dataclass
class Floor:
    seconds: float
    flops: float
    gemm_flops_per_second: float
    parameters: int


def compute_floor(cfg: DictConfig, datamodule: TensorDataModule, device: torch.device) -> Floor:
    """FLOPs of one epoch (6·params per training sample, 2·params per validation sample)
    over the GEMM throughput measured on this network's layer shapes and batch sizes."""
    splits = datamodule.splits
    assert splits is not None
    network = instantiate(cfg.model).build_torch(datamodule.spec)
    parameters = sum(p.numel() for p in network.parameters())
    shapes = linear_shapes(network)
    n_train, n_val = len(splits.train[0]), len(splits.val[0])
    mix = [  # (GEMM seconds, GEMM FLOPs) of one step, times the steps of one epoch
        (*gemm_seconds(shapes, datamodule.batch_size, True, device), n_train / datamodule.batch_size),
        (
            *gemm_seconds(shapes, datamodule.eval_batch_size, False, device),
            n_val / datamodule.eval_batch_size,
        ),
    ]
    throughput = sum(f * n for _, f, n in mix) / sum(s * n for s, _, n in mix)
    flops = 6.0 * parameters * n_train + 2.0 * parameters * n_val
    return Floor(flops / throughput, flops, throughput, parameters)


# ------------------------------------------------------------------------- the runs


@dataclass
class Row:
    """One row's timed repetitions, or why it could not run."""

    name: str
    seconds: list[float] = field(default_factory=list)
    unavailable: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def interleaved(measures: dict[str, Callable[[int], float]], warmup: int, reps: int) -> dict[str, Row]:
    """Warm-up rounds, then ``reps`` rounds; each round runs every row once (``measure(round)``
    returns seconds), the order rotated by one each round so no row always follows the
    same neighbour. A row that raises ``Unavailable`` stops and keeps the reason."""
    names = list(measures)
    rows = {name: Row(name) for name in names}
    for round_ in range(warmup + reps):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            row = rows[name]
            if row.unavailable is not None:
                continue
            try:
                seconds = measures[name](round_)
            except Unavailable as reason:
                row.unavailable = str(reason)
                continue
            if round_ >= warmup:
                row.seconds.append(seconds)
    return rows


def measure_all(
    options: Options, cfg: DictConfig, datamodule: TensorDataModule, scratch: Path
) -> tuple[dict[str, Row], Floor]:
    """Every row of the table, interleaved; and the compute floor's details."""
    device = device_of(cfg)
    floors: list[Floor] = []

    def floor() -> float:
        floors.append(compute_floor(cfg, datamodule, device))
        return floors[-1].seconds

    measures: dict[str, Callable[[int], float]] = {
        "raw": lambda _: raw_epoch(cfg, datamodule, device),
        "trainlab": lambda r: trainlab_epoch(cfg, datamodule, scratch / f"lightning-{r}"),
        "keras": lambda r: keras_epoch(cfg, datamodule, scratch / f"keras-{r}"),
        "per_sample": lambda _: per_sample_epoch(cfg, datamodule, device),
        "floor": lambda _: floor(),
    }
    assert tuple(measures) == ROWS
    return interleaved(measures, options.warmup, options.reps), floors[-1]


# ------------------------------------------------------------------------- reporting


def ratios(rows: dict[str, Row]) -> dict[str, float | None]:
    def ratio(a: str, b: str) -> float | None:
        top, bottom = rows[a].median, rows[b].median
        return top / bottom if top is not None and bottom else None

    return {
        "trainlab/raw": ratio("trainlab", "raw"),
        "per_sample/trainlab": ratio("per_sample", "trainlab"),
        "trainlab/floor": ratio("trainlab", "floor"),
        "keras/raw": ratio("keras", "raw"),
    }


def target_met(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    comparison, bound = TARGETS[name]
    return value <= bound if comparison == "<=" else value >= bound


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def machine(device: torch.device) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": gpu or "cpu",
        "python": platform.python_version(),
        **{name: installed(name) for name in ("torch", "lightning", "keras")},
    }


def report(
    options: Options, cfg: DictConfig, datamodule: TensorDataModule, rows: dict[str, Row], floor: Floor
) -> dict[str, Any]:
    """Everything the table shows, as plain data for ``bench/epoch.json``."""
    splits = datamodule.splits
    assert splits is not None
    n_train = len(splits.train[0])
    shapes = linear_shapes(instantiate(cfg.model).build_torch(datamodule.spec))
    measured = ratios(rows)

    def row_data(row: Row) -> dict[str, Any]:
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

    return {
        "benchmark": "seconds per epoch (train split + validation split)",
        "command": " ".join(["python", "scripts/bench_epoch.py", *sys.argv[1:]]),
        "machine": machine(device_of(cfg)),
        "config": {
            "overrides": options.overrides,
            "data": cfg.data._target_,
            "layers": "-".join(str(n) for n in [shapes[0][0], *(out for _, out in shapes)]),
            "activation": cfg.model.get("activation"),
            "optimizer": cfg.optimizer._target_,
            "batch_size": datamodule.batch_size,
            "eval_batch_size": datamodule.eval_batch_size,
            "train_samples": n_train,
            "val_samples": len(splits.val[0]),
            "reps": options.reps,
            "warmup": options.warmup,
        },
        "rows": {name: row_data(row) for name, row in rows.items()},
        "floor": {
            "flops_per_epoch": floor.flops,
            "gemm_flops_per_second": floor.gemm_flops_per_second,
            "parameters": floor.parameters,
        },
        "ratios": measured,
        "targets": {
            name: {
                "comparison": TARGETS[name][0],
                "bound": TARGETS[name][1],
                "met": target_met(name, value),
            }
            for name, value in measured.items()
        },
    }


def print_table(result: dict[str, Any]) -> None:
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
    targets = Table(title="issue 6 targets")
    for column in ("ratio", "measured", "target", "met"):
        targets.add_column(column)
    for name, target in result["targets"].items():
        value = result["ratios"][name]
        met = {True: "yes", False: "NO", None: "-"}[target["met"]]
        shown = f"{value:.2f}" if value is not None else "not available"
        targets.add_row(name, shown, f"{target['comparison']} {target['bound']}", met)
    console = Console()
    console.print(table)
    console.print(targets)


def main(argv: list[str]) -> dict[str, Any]:
    options = parse_args(argv)
    if options.threads > 0:
        torch.set_num_threads(options.threads)
    with tempfile.TemporaryDirectory(prefix="trainlab-bench-") as scratch:
        cfg = compose_config(options.overrides, Path(scratch))
        datamodule = load_data(cfg, options.max_samples)
        rows, floor = measure_all(options, cfg, datamodule, Path(scratch))
        result = report(options, cfg, datamodule, rows, floor)
    print_table(result)
    write_result(options.output, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
