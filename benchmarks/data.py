"""The benchmark's data: each split cut to its first ``max_samples``, for every row alike.

The hand-written rows cut the DataModule they load; the engine rows load theirs as a run
does, through ``cfg.data``, which ``at_most`` wraps in ``first_samples``.
"""

from __future__ import annotations

from omegaconf import DictConfig, open_dict

from trainlab.data.base import Batch, Splits, TensorDataModule
from trainlab.engines.runtime import build_datamodule


def truncate(splits: Splits, max_samples: int) -> Splits:
    """At most ``max_samples`` of each split; 0 keeps everything."""
    if max_samples <= 0:
        return splits

    def cut(pair: Batch) -> Batch:
        return pair[0][:max_samples], pair[1][:max_samples]

    return Splits(cut(splits.train), cut(splits.val), cut(splits.test))


def first_samples(datamodule: TensorDataModule, max_samples: int) -> TensorDataModule:
    """``datamodule`` loaded and cut (a Hydra target: Hydra builds ``datamodule`` first)."""
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert datamodule.splits is not None
    datamodule.splits = truncate(datamodule.splits, max_samples)
    return datamodule


def at_most(cfg: DictConfig, max_samples: int) -> DictConfig:
    """``cfg`` whose data node yields only the first ``max_samples`` of each split."""
    if max_samples <= 0:
        return cfg
    cut = cfg.copy()
    with open_dict(cut):
        cut.data = {
            "_target_": f"{__name__}.first_samples",
            "datamodule": cfg.data,
            "max_samples": max_samples,
        }
    return cut


def load_data(cfg: DictConfig, max_samples: int) -> TensorDataModule:
    """The configured DataModule, loaded once and cut, for the hand-written rows."""
    datamodule = build_datamodule(cfg)
    assert datamodule.splits is not None
    datamodule.splits = truncate(datamodule.splits, max_samples)
    return datamodule
