"""What each of trainlab's DataModules promises before its data is read: spec and split sizes.

The pre-flight refuses a monitor the task never logs, a ``predict`` row of the wrong
width and a split its options leave empty before torch or Lightning is imported, so
that a refusal takes a second. Without importing a DataModule it can know it only by
its ``_target_`` string. So each DataModule's declaration lives here, torch-free: its
``_target_`` and what its options give, the ``DataSpec`` (task, input shape, outputs,
image shape) and, where the dataset's size is published, the split sizes.

The declaration is the class's one source of these: each DataModule names its own
(``TensorDataModule.declared``), builds the ``DataSpec`` its ``load`` returns from it,
and is refused at import if the declaration names another ``_target_``. A DataModule
without one (a user's own) is checked once its data is loaded
(``trainlab.config.runtime_checks``).
"""

from __future__ import annotations

import math
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

DIGITS_SAMPLES, DIGITS_CLASSES, DIGITS_SIDE = 1_797, 10, 8
HOUSING_SAMPLES, HOUSING_FEATURES = 20_640, 8
MNIST_TRAIN, MNIST_TEST, MNIST_SIDE, MNIST_CLASSES = 60_000, 10_000, 28, 10
CIFAR10_TRAIN, CIFAR10_TEST, CIFAR10_CLASSES = 50_000, 10_000, 10
CIFAR10_SHAPE = (3, 32, 32)  # channels, height, width
FRACTION_OPTIONS = (
    "data.val_fraction + data.test_fraction",
    "data.val_fraction",
    "data.test_fraction",
)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DataSpec:
    """What a model must know about its data: built from the data, never typed twice."""

    input_shape: tuple[int, ...]
    num_outputs: int
    task: TaskKind
    image_shape: tuple[int, ...] | None = None  # how to draw a sample, for figures


@dataclass(frozen=True)
class SplitSizes:
    """The (train, val, test) sample counts a config gives, and the option behind each."""

    sizes: tuple[int, int, int]
    options: tuple[str, str, str]
    total: int
    minimum: int = 1  # a stratified split needs one sample of each class


@dataclass(frozen=True)
class DataLayout:
    """What a DataModule's options promise: its ``DataSpec`` and, if known, its split sizes."""

    name: str
    spec: DataSpec
    splits: SplitSizes | None = None  # None: known only once the data is read

    @property
    def task(self) -> TaskKind:
        return self.spec.task

    @property
    def input_width(self) -> int:
        """How many numbers one sample's raw inputs hold (a ``predict`` row)."""
        return math.prod(self.spec.input_shape)

    def metric_names(self, stages: tuple[str, ...] = TRAINING_STAGES) -> list[str]:
        """The tags a run logs for ``stages``: ``train/loss``, ``train/acc``, ``val/loss`` ..."""
        return metric_names(self.task, stages)


@dataclass(frozen=True)
class Declared:
    """A DataModule's declaration: its ``_target_``, and the layout its options give.

    ``layout`` reads the options by their config names; a DataModule keeps its options
    as attributes of the same names, so the class applies it to ``vars(self)``.
    """

    target: str
    layout: Callable[[Mapping[str, Any]], DataLayout]


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


def _carved_splits(
    data: Mapping[str, Any], train: int, test: int, options: tuple[str, str, str]
) -> SplitSizes | None:
    """Validation as the last ``val_size`` training samples, or (``null``) the test split."""
    val = data.get("val_size")
    if val is None:
        return SplitSizes((train, test, test), options, train)
    if isinstance(val, int) and not isinstance(val, bool) and val >= 0:
        return SplitSizes((train - val, val, test), options, train)
    return None


def _digits(data: Mapping[str, Any]) -> DataLayout:
    minimum = DIGITS_CLASSES if data.get("stratify", True) else 1  # one sample of each class
    spec = DataSpec((DIGITS_SIDE**2,), DIGITS_CLASSES, "multiclass", (DIGITS_SIDE, DIGITS_SIDE))
    return DataLayout("digits", spec, _fraction_splits(data, DIGITS_SAMPLES, minimum=minimum))


def _housing(data: Mapping[str, Any]) -> DataLayout:
    spec = DataSpec((HOUSING_FEATURES,), 1, "regression")
    return DataLayout("housing", spec, _fraction_splits(data, HOUSING_SAMPLES))


def _mnist(data: Mapping[str, Any]) -> DataLayout:
    """Sizes before ``classes`` filters them: a split empty here is empty whatever the classes."""
    classes = data.get("classes")
    num_classes = len(classes) if isinstance(classes, list) and classes else MNIST_CLASSES
    side = data.get("image_size") or MNIST_SIDE
    shape = (side, side) if isinstance(side, int) else (MNIST_SIDE, MNIST_SIDE)
    if num_classes == 2:  # one_hot: two sigmoid outputs, as the lesson's Keras model has
        spec = DataSpec(shape, 2 if data.get("one_hot") else 1, "binary", image_shape=shape)
    else:
        spec = DataSpec(shape, num_classes, "multiclass", image_shape=shape)
    if data.get("val_size") is None:  # no validation part: validation is the test set
        options = ("data.classes", "data.classes", "data.classes")
    else:
        options = ("data.val_size", "data.val_size", "data.classes")
    return DataLayout("mnist", spec, _carved_splits(data, MNIST_TRAIN, MNIST_TEST, options))


def _cifar10(data: Mapping[str, Any]) -> DataLayout:
    """The channel planes drawn stacked: one grey 32x32 plane above the next."""
    channels, height, width = CIFAR10_SHAPE
    spec = DataSpec(CIFAR10_SHAPE, CIFAR10_CLASSES, "multiclass", (channels * height, width))
    splits = _carved_splits(data, CIFAR10_TRAIN, CIFAR10_TEST, ("data.val_size",) * 3)
    return DataLayout("cifar10", spec, splits)


def _points(name: str, width: int, count: int | None, option: str) -> DataLayout:
    """The lessons' points: train, val and test are the same ``count`` points."""
    splits = None if count is None else SplitSizes((count, count, count), (option,) * 3, count)
    return DataLayout(name, DataSpec((width,), 1, "regression"), splits)


def _multiply(data: Mapping[str, Any]) -> DataLayout:
    inputs = data.get("inputs")
    return _points("multiply_by_3", 1, len(inputs) if isinstance(inputs, list) else None, "data.inputs")


def _addition(data: Mapping[str, Any]) -> DataLayout:
    pairs = data.get("num_pairs")
    return _points("addition", 2, pairs if isinstance(pairs, int) else None, "data.num_pairs")


DIGITS = Declared("trainlab.data.digits.DigitsDataModule", _digits)
HOUSING = Declared("trainlab.data.housing.HousingDataModule", _housing)
MNIST = Declared("trainlab.data.mnist.MNISTDataModule", _mnist)
CIFAR10 = Declared("trainlab.data.cifar10.CIFAR10DataModule", _cifar10)
MULTIPLY = Declared("trainlab.data.toy.MultiplyDataModule", _multiply)
ADDITION = Declared("trainlab.data.toy.AdditionDataModule", _addition)
DECLARED = {
    declared.target: declared for declared in (DIGITS, HOUSING, MNIST, CIFAR10, MULTIPLY, ADDITION)
}


def layout_of(data: Mapping[str, Any] | None) -> DataLayout | None:
    """The layout of a resolved ``data`` config, or None for a DataModule not declared here."""
    if not data:
        return None
    declared = DECLARED.get(str(data.get("_target_", "")))
    return declared.layout(data) if declared is not None else None
