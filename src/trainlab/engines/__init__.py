"""Training engines and the one contract they share.

``engine=lightning`` (the default) trains with Lightning's ``Trainer.fit``;
``engine=keras`` trains the same configs with Keras 3's ``model.fit`` on its torch
backend. Both follow ``Engine``: whatever an engine does inside, a run looks the same
from outside (the run directory, the metric names, the exit codes), so the CLI, the
Python API, the sweeper and the benchmarks never ask which engine they drive.

Adding an engine means writing a class with these two methods and a config
``conf/engine/<name>.yaml`` whose ``_target_`` names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from omegaconf import DictConfig

#: Final metrics by tag: ``val/acc``, ``test/loss``, ``baseline/test/acc`` ...
Metrics = dict[str, float]


class Engine(Protocol):
    """What ``conf/engine/<name>.yaml`` instantiates.

    ``fit`` trains ``cfg.model`` on ``cfg.data`` into the run directory
    ``cfg.paths.output_dir`` and leaves there: TensorBoard events, ``checkpoints/best``
    and ``last`` (with ``checkpoint_suffix``), ``metrics.json``, ``history.csv``,
    ``model_summary.txt`` and ``figures/``. It returns the val and test metrics of the
    best checkpoint, reloaded from disk as ``evaluate`` reloads it, plus the baseline's.
    ``callbacks`` are extra callbacks of the engine's own library (a Lightning
    ``Callback`` or a ``keras.callbacks.Callback``), run after the configured ones:
    the benchmarks time epochs with them.

    ``evaluate`` recomputes the test metrics of ``ckpt_path`` (a checkpoint this engine
    wrote, for the run whose config is ``cfg``) and writes them to the current run
    directory's ``metrics.json``.

    Both raise ``trainlab.errors.TrainlabError`` for anything the user can fix.
    """

    checkpoint_suffix: ClassVar[str]

    def fit(self, cfg: DictConfig, callbacks: Sequence[Any] = ()) -> Metrics: ...

    def evaluate(self, cfg: DictConfig, ckpt_path: str) -> Metrics: ...


def load_engine(cfg: DictConfig) -> Engine:
    """The engine ``cfg.engine`` names (it imports its library only when it trains)."""
    from hydra.utils import instantiate

    engine: Engine = instantiate(cfg.engine)
    return engine
