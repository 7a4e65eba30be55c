"""Fixtures: run the CLI like a user, compose configs like Hydra, and the datasets.

Shared code that is not a fixture is in ``tests/helpers.py``. MNIST and housing tests
use the real files when ``TRAINLAB_DATA_DIR`` points at them (as in CI) and otherwise
small files written in the real formats, so the loaders are always exercised.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from .helpers import CONFIG_DIR, DataDir, Result, run_script


@pytest.fixture
def cli_train(tmp_path: Path) -> Callable[..., Result]:
    """``cli_train(*overrides)`` runs ``python train.py`` into a fresh run directory."""
    counter = iter(range(1000))

    def run(*overrides: str, timeout: int = 300) -> Result:
        return run_script("train.py", list(overrides), tmp_path / f"run{next(counter)}", timeout)

    return run


@pytest.fixture
def cli_evaluate(tmp_path: Path) -> Callable[..., Result]:
    """``cli_evaluate(*overrides)`` runs ``python eval.py`` into ``tmp_path / "eval"``."""

    def run(*overrides: str) -> Result:
        return run_script("eval.py", list(overrides), tmp_path / "eval")

    return run


@pytest.fixture
def compose_train() -> Iterator[Callable[..., DictConfig]]:
    """``compose_train(*overrides)``: the job config train.py would run with, for inspection.

    It has no ``hydra`` node, so it cannot be trained: tests that train pass override
    strings, or a config from ``trainlab.compose``, to ``trainlab.train``.
    """
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        yield lambda *overrides: compose("train", overrides=list(overrides))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """The real datasets when TRAINLAB_DATA_DIR has them, else small generated copies."""
    configured = os.environ.get("TRAINLAB_DATA_DIR")
    real = DataDir.real_files(Path(configured)) if configured else None
    return real or DataDir.small_files(tmp_path_factory.mktemp("data"))
