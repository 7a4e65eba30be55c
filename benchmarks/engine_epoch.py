"""The engine rows: a real run through ``trainlab.train``, its last epoch timed by a callback.

The run is what ``python train.py`` would do with the same overrides, for
``ENGINE_EPOCHS`` epochs; its last one is a steady-state epoch (training, validation,
callbacks, logging, checkpoints), as the hand-written rows time an epoch of an already
built network. Set-up is ``benchmarks.startup``'s business. ``figures=false``: the
figures are drawn after the fit, outside the timed epoch, and would only make the
benchmark longer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from omegaconf import DictConfig

import trainlab
from benchmarks.clock import EpochClock
from benchmarks.common import Unavailable
from benchmarks.data import at_most
from trainlab.errors import ConfigError

ENGINE_EPOCHS = 2


def engine_config(overrides: Sequence[str], engine: str, max_samples: int = 0) -> DictConfig:
    """The run ``python train.py <overrides> engine=<engine>`` would be, on the cut data."""
    cfg = trainlab.compose(
        *overrides, f"engine={engine}", f"trainer.max_epochs={ENGINE_EPOCHS}", "figures=false"
    )
    return at_most(cfg, max_samples)


def epoch_clock(engine: str) -> tuple[object, EpochClock]:
    """A timing callback of ``engine``'s own library, and the clock it stops."""
    if engine == "lightning":
        from benchmarks.lightning_timer import LightningEpochTimer

        lightning_timer = LightningEpochTimer()
        return lightning_timer, lightning_timer.clock
    if engine == "keras":
        try:
            from benchmarks.keras_timer import KerasEpochTimer
        except ImportError as error:  # Keras is not installed or cannot run here
            raise Unavailable(f"the Keras engine does not import: {error}") from None
        keras_timer = KerasEpochTimer()
        return keras_timer, keras_timer.clock
    raise Unavailable(f"no epoch timer for engine={engine}")


def engine_row(cfg: DictConfig, run_dirs: Path) -> Callable[[int], float]:
    """A benchmark row: round ``r`` runs ``cfg`` into ``run_dirs/r`` and returns ``engine_epoch``."""
    return lambda round_: engine_epoch(cfg, run_dirs / str(round_))


def engine_epoch(cfg: DictConfig, run_dir: Path) -> float:
    """Seconds of the last epoch of a run of ``cfg`` (from ``engine_config``) in ``run_dir``."""
    engine = str(cfg.hydra.runtime.choices.engine)
    callback, clock = epoch_clock(engine)
    try:
        trainlab.train(cfg, run_dir=run_dir, callbacks=[callback])
    except ConfigError as error:  # e.g. a Trainer option the Keras engine refuses
        raise Unavailable(f"engine={engine}: {error}") from None
    return clock.seconds[-1]
