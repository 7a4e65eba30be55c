"""What a data config promises before any data is read: task, input width, split sizes.

The pre-flight checks need a dataset's task (which metrics a run logs), its input
width (what each ``predict`` row must hold) and, where the dataset's size is
published, its split sizes. All of them follow from the data config; reading them
here, without torch, scikit-learn or the DataModule classes, keeps a refusal under a
second. The DataModules' loaded ``DataSpec`` must say the same: the tests compare the
two for every data config. A DataModule not listed here (a user's own) has no layout;
its data is checked once loaded (``trainlab.config.runtime_checks``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from trainlab.data.splitting import split_sizes

TaskKind = Literal["multiclass", "binary", "regression"]

#: The metrics each task logs besides its loss (``train/acc``, ``val/rmse`` ...);
#: ``trainlab.tasks`` computes them.
TASK_METRICS: dict[TaskKind, tuple[str, ...]] = {
    "multiclass": ("acc",),
    "binary": ("acc",),
    "regression": ("mae", "rmse"),
}
#: Whether a metric improves downwards or upwards: what ``monitor_mode`` must say.
METRIC_MODES = {"loss": "min", "acc": "max", "mae": "min", "rmse": "min"}
#: The stages a run logs while it trains, so the only ones a callback can monitor.
TRAINING_STAGES = ("train", "val")

DIGITS_SAMPLES, DIGITS_CLASSES, DIGITS_WIDTH = 1_797, 10, 64
HOUSING_SAMPLES, HOUSING_FEATURES = 20_640, 8
MNIST_TRAIN, MNIST_TEST, MNIST_SIDE, MNIST_CLASSES = 60_000, 10_000, 28, 10
CIFAR10_TRAIN, CIFAR10_TEST, CIFAR10_WIDTH = 50_000, 10_000, 3 * 32 * 32
FRACTION_OPTIONS = (
    "data.val_fraction + data.test_fraction",
    "data.val_fraction",
    "data.test_fraction",
)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSizes:
    """The (train, val, test) sample counts a config gives, and the option behind each."""

    sizes: tuple[int, int, int]
    options: tuple[str, str, str]
    total: int
    minimum: int = 1  # a stratified split needs one sample of each class


@dataclass(frozen=True)
class DataLayout:
    name: str
    task: TaskKind
    input_width: int
    splits: SplitSizes | None = None  # None: known only once the data is read

    def metric_names(self, stages: tuple[str, ...] = TRAINING_STAGES) -> list[str]:
        """The tags a run logs for ``stages``: ``train/loss``, ``train/acc``, ``val/loss`` ..."""
        return metric_names(self.task, stages)


def metric_names(task: TaskKind, stages: tuple[str, ...] = TRAINING_STAGES) -> list[str]:
    return [f"{stage}/{name}" for stage in stages for name in ("loss", *TASK_METRICS[task])]


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _fraction_splits(data: Mapping[str, Any], total: int, minimum: int = 1) -> SplitSizes | None:
    """Sizes from the fractions; ``val_fraction: null`` validates on the test split."""
    val, test = _number(data, "val_fraction"), _number(data, "test_fraction")
    if val is None and data.get("val_fraction") is None and test is not None and 0 < test < 1:
        options = (FRACTION_OPTIONS[2], FRACTION_OPTIONS[2], FRACTION_OPTIONS[2])
        return SplitSizes(split_sizes(total, None, test), options, total, minimum)
    if val is None or test is None or not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        return None  # the value checks refuse these themselves
    return SplitSizes(split_sizes(total, val, test), FRACTION_OPTIONS, total, minimum)


def _digits(data: Mapping[str, Any]) -> DataLayout:
    minimum = DIGITS_CLASSES if data.get("stratify", True) else 1  # one sample of each class
    splits = _fraction_splits(data, DIGITS_SAMPLES, minimum=minimum)
    return DataLayout("digits", "multiclass", DIGITS_WIDTH, splits)


def _housing(data: Mapping[str, Any]) -> DataLayout:
    return DataLayout("housing", "regression", HOUSING_FEATURES, _fraction_splits(data, HOUSING_SAMPLES))


def _mnist(data: Mapping[str, Any]) -> DataLayout:
    """Sizes before ``classes`` filters them: a split empty here is empty whatever the classes."""
    classes = data.get("classes")
    num_classes = len(classes) if isinstance(classes, list) and classes else MNIST_CLASSES
    side = data.get("image_size") or MNIST_SIDE
    width = side * side if isinstance(side, int) else MNIST_SIDE * MNIST_SIDE
    val = data.get("val_size")
    splits = None
    if isinstance(val, int) and not isinstance(val, bool) and val >= 0:
        options = ("data.val_size", "data.val_size", "data.classes")
        splits = SplitSizes((MNIST_TRAIN - val, val, MNIST_TEST), options, MNIST_TRAIN)
    elif val is None:  # no validation part: validation is the test set
        options = ("data.classes", "data.classes", "data.classes")
        splits = SplitSizes((MNIST_TRAIN, MNIST_TEST, MNIST_TEST), options, MNIST_TRAIN)
    task: TaskKind = "binary" if num_classes == 2 else "multiclass"
    return DataLayout("mnist", task, width, splits)


def _cifar10(data: Mapping[str, Any]) -> DataLayout:
    val = data.get("val_size")
    splits = None
    if val is None:  # validation is the test batch
        sizes = (CIFAR10_TRAIN, CIFAR10_TEST, CIFAR10_TEST)
        splits = SplitSizes(sizes, ("data.val_size",) * 3, CIFAR10_TRAIN)
    elif isinstance(val, int) and not isinstance(val, bool) and val >= 0:
        sizes = (CIFAR10_TRAIN - val, val, CIFAR10_TEST)
        splits = SplitSizes(sizes, ("data.val_size",) * 3, CIFAR10_TRAIN)
    return DataLayout("cifar10", "multiclass", CIFAR10_WIDTH, splits)


def _points(name: str, width: int, count: int | None, option: str) -> DataLayout:
    """The lessons' points: train, val and test are the same ``count`` points."""
    splits = None if count is None else SplitSizes((count, count, count), (option,) * 3, count)
    return DataLayout(name, "regression", width, splits)


def _multiply(data: Mapping[str, Any]) -> DataLayout:
    inputs = data.get("inputs")
    return _points("multiply_by_3", 1, len(inputs) if isinstance(inputs, list) else None, "data.inputs")


def _addition(data: Mapping[str, Any]) -> DataLayout:
    pairs = data.get("num_pairs")
    return _points("addition", 2, pairs if isinstance(pairs, int) else None, "data.num_pairs")


LAYOUTS: dict[str, Callable[[Mapping[str, Any]], DataLayout]] = {
    "trainlab.data.digits.DigitsDataModule": _digits,
    "trainlab.data.housing.HousingDataModule": _housing,
    "trainlab.data.mnist.MNISTDataModule": _mnist,
    "trainlab.data.cifar10.CIFAR10DataModule": _cifar10,
    "trainlab.data.toy.MultiplyDataModule": _multiply,
    "trainlab.data.toy.AdditionDataModule": _addition,
}


def layout_of(data: Mapping[str, Any] | None) -> DataLayout | None:
    """The layout of a resolved ``data`` config, or None for a DataModule not listed."""
    if not data:
        return None
    layout = LAYOUTS.get(str(data.get("_target_", "")))
    return layout(data) if layout is not None else None
