"""Run directory names: ``<date>/<time>_<name>`` for a run, ``<number>_<overrides>`` for a job.

TensorBoard names a run by its directory, so the directory says what the run is: the
lesson (``digits_dropout-keras``) or data, model and engine (``digits-mlp-lightning``).
Two runs started in the same second get two directories: ``trainlab.claim`` creates the
directory when Hydra resolves it (``mkdir`` fails if another process took the name first)
and moves on to ``<name>_2``, ``<name>_3`` ...; a DDP rank other than 0 claims nothing.
The resolvers are cached per config like Hydra's ``now``, so a config resolves to one
directory however often it is read, and the jobs of a sweep share the sweep's.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: Longest override part of a job directory's name (a file name may hold 255 bytes).
MAX_OVERRIDES_CHARS = 120
_claiming = [True]


@contextlib.contextmanager
def names_only() -> Iterator[None]:
    """Resolve run directories without creating them (checking a command line)."""
    _claiming.append(False)
    try:
        yield
    finally:
        _claiming.pop()


class StillComposing(Exception):
    """A run directory resolved before Hydra has recorded the config's group choices.

    OmegaConf resolves an interpolation that a later config merges into (the
    ``hparams_search`` configs set ``hydra.sweep.dir``) while Hydra composes, before
    ``hydra.runtime.choices`` is filled. Raised there, the merge goes on without the
    value: no directory is created for a name without its data and model, and none is
    cached for the finished config (OmegaConf caches a resolver by its arguments' text).
    """


def _choices_recorded(choices: DictConfig | dict[str, Any] | None) -> dict[str, Any]:
    if not choices:
        raise StillComposing("hydra.runtime.choices is empty")
    return dict(choices)


def run_name(name: str | None, choices: DictConfig | dict[str, Any] | None) -> str:
    """``name`` if set; else the lesson and engine, or data, model and engine."""
    if name:
        return str(name)
    chosen = _choices_recorded(choices)
    engine = chosen.get("engine") or "lightning"
    if chosen.get("experiment"):
        return f"{chosen['experiment']}-{engine}"
    return "-".join(str(chosen.get(group) or group) for group in ("data", "model")) + f"-{engine}"


def job_dir(number: int | str, override_dirname: str | None) -> str:
    """``<number>_<overrides>``, the overrides cut to ``MAX_OVERRIDES_CHARS`` at an item."""
    overrides = re.sub(r"[/\\]", "-", override_dirname or "")
    if len(overrides) > MAX_OVERRIDES_CHARS:
        cut = overrides[:MAX_OVERRIDES_CHARS]
        overrides = (cut.rsplit(",", 1)[0] if "," in cut else cut) + ",..."
    return f"{number}_{overrides}" if overrides else str(number)


#: Set in the processes of a DDP job other than its rank 0: the started ranks
#: (``TRAINLAB_RANK``, see ``engines.lightning.ranks``) and the other machines (``NODE_RANK``).
RANK_VARIABLES = ("TRAINLAB_RANK", "NODE_RANK")


def extra_rank() -> bool:
    """Whether this process is a DDP rank other than 0: it writes nothing, claims nothing."""
    return any(os.environ.get(name, "0").strip() not in ("", "0") for name in RANK_VARIABLES)


def claim(path: str, choices: DictConfig | dict[str, Any] | None) -> str:
    """``path``, created now; ``path_2``, ``path_3`` ... if another run has it already.

    ``choices`` is the config's ``hydra.runtime.choices``: only a finished config claims
    (``StillComposing``). A DDP rank other than 0 claims nothing (``extra_rank``).
    """
    _choices_recorded(choices)
    if not _claiming[-1] or extra_rank():
        return path
    candidate, number = path, 1
    while True:
        try:
            Path(candidate).mkdir(parents=True)
        except FileExistsError:
            number += 1
            candidate = f"{path}_{number}"
        except OSError:  # unwritable: the run's own checks say so in one line
            return candidate
        else:
            return candidate


def register() -> None:
    """Register ``trainlab.run_name``, ``trainlab.job_dir`` and ``trainlab.claim``."""
    for name, function in (
        ("trainlab.run_name", run_name),
        ("trainlab.job_dir", job_dir),
        ("trainlab.claim", claim),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function, use_cache=True)
