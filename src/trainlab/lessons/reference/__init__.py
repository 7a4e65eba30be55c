"""The classroom notebooks' own code, cell by cell, to measure where a lesson should land.

Each lesson of ``conf/experiment/`` comes from a cell of a notebook in the course; each
module here redoes one notebook's cells the way it does them -- plain ``keras``
``model.fit`` (Keras 3 on its torch backend stands in for ``tf.keras``) or the notebook's
own PyTorch loop, its own split, scaling, layers, library defaults, batch size and
epochs -- so that trainlab's numbers are checked against the notebook's and not against a
summary of it. ``notebook_000``, ``notebook_001`` and ``notebook_003`` are the Keras
notebooks, ``notebook_004`` the PyTorch one; 002 (gradient descent by hand in NumPy) has
no training run to compare: it is ``trainlab.lessons.gradient_descent``.

The code imports nothing of trainlab's training (no engine, model or DataModule): a shared
bug would otherwise hide on both sides. The one shared piece is the derivation of the
housing features from the StatLib file (``common.load_housing``), which a test checks
against scikit-learn's own figures.

Where a notebook fixes a seed for its split, the split keeps it; the seed of each run
drives the weight initialisation and the shuffling (and, for ``addition``, which draws
its 50 pairs unseeded, the pairs too).
"""

from __future__ import annotations

# Each notebook module records its cells in CELLS as it is imported.
from trainlab.lessons.reference import notebook_000, notebook_001, notebook_003, notebook_004
from trainlab.lessons.reference.common import CELLS, Lesson

#: Every lesson with a number to compare, by name, in the order the commands run them.
ORDER = (
    "digits_dropout",
    "digits_sigmoid",
    "digits_tanh",
    "digits_compact",
    "housing_earlystop",
    "housing_unscaled",
    "housing_minmax",
    "mnist_binary_6x6",
    "mnist_mlp256",
    "multiply_by_3",
    "addition",
)
LESSONS: dict[str, Lesson] = dict(sorted(CELLS.items(), key=lambda item: ORDER.index(item[0])))

__all__ = ["LESSONS", "Lesson", "notebook_000", "notebook_001", "notebook_003", "notebook_004"]
