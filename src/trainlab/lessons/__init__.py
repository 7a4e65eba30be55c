"""Lesson exercises that are more than one training run, each a Hydra app of its own.

``gradient_descent`` (with ``linear_neuron`` and ``descent_figures``) shows how a step
of training works, by hand and by two libraries; ``manual_steps`` takes notebook 000's
full-batch steps on MNIST 0-vs-1 with torch autograd and with Keras' optimizer;
``compact_search`` (with ``compact_plot``) searches for the smallest, fastest-learning
MLP through ``trainlab.api.train``. ``notebook_reference`` runs the notebooks' own code
(``reference/``, one module per notebook) and ``lesson_table`` (with ``table_rows``) sets
each lesson beside it on both engines, for the table of ``docs/lessons.md``.

Each runs as ``python -m trainlab.lessons.<name> [overrides]`` (or its console script,
or ``scripts/<name>.py`` in a checkout) with its config in ``trainlab/lessons/conf/``,
so an installed wheel has them all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

#: The lessons' configs, inside the package so that a wheel carries them.
CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def lesson_main(config_name: str, job: Callable[[DictConfig], Any]) -> Callable[[], None]:
    """The entry point of a lesson: ``job`` as a Hydra app on ``conf/<config_name>.yaml``.

    A ``TrainlabError`` is one stderr line and exit 1, as in ``train.py``.
    """

    def main() -> None:
        import hydra

        from trainlab.jobs import one_line_errors

        app = hydra.main(config_path=str(CONFIG_DIR), config_name=config_name, version_base="1.3")
        app(one_line_errors(job))()

    main.__doc__ = f"Run the lesson of ``{config_name}.yaml`` with the command line's overrides."
    return main
