"""Helpers for the Keras engine, lesson and parity tests (fixtures live in conftest.py).

Which experiments exist, which engines run them, and the data overrides each lesson
needs: the real files when ``TRAINLAB_DATA_DIR`` has them, else conftest's small
generated copies (with a validation split that fits them).
"""

from __future__ import annotations

from .conftest import CONFIG_DIR, DataDir

EXPERIMENTS = sorted(path.stem for path in (CONFIG_DIR / "experiment").glob("*.yaml"))
ENGINES = ("lightning", "keras")
SMALL_VAL_SIZE = 100  # of the generated 600 training images


def lesson_data_overrides(experiment: str, data_dir: DataDir) -> list[str]:
    """Where a lesson finds MNIST or housing; the toy and digits lessons need nothing."""
    if not experiment.startswith(("mnist", "housing")):
        return []
    if data_dir.real:
        return [f"paths.data_dir={data_dir.path}"]
    overrides = [f"paths.data_dir={data_dir.path}", "data.verify=false"]
    if experiment.startswith("mnist"):
        overrides.append(f"data.val_size={SMALL_VAL_SIZE}")
    return overrides
