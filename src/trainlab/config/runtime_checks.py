"""The data checks that need the loaded data, for a DataModule its config says too little of.

Each of trainlab's DataModules declares its task and input width (``trainlab.data.layouts``),
so the pre-flight refuses a monitor the task never logs, or a ``predict`` row of the
wrong width, before anything runs. A DataModule without a declaration (a user's own
``_target_``) shows them only in its loaded ``DataSpec``; ``check_data_fits`` gives the
same one-line refusals then, still before training.

Engines call it where the data has just been loaded (``engines/runtime.py``'s
``build_datamodule``, after ``datamodule.setup("fit")``), which serves both engines.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from trainlab.config.data_checks import check_task_fits

if TYPE_CHECKING:
    from trainlab.data.base import DataSpec


def check_data_fits(cfg: DictConfig, spec: DataSpec) -> None:
    """Raise ``ConfigError`` if ``cfg``'s monitors or ``predict`` rows do not fit ``spec``.

    For trainlab's own datasets this repeats the pre-flight's check against what the
    data turned out to be, at no measurable cost.
    """
    target = str(cfg.data.get("_target_", "data")) if cfg.get("data") is not None else "data"
    check_task_fits(cfg, spec.task, math.prod(spec.input_shape), target.rsplit(".", 1)[-1])
