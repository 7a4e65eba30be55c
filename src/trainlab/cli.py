"""Entry points: ``train.py``/``trainlab-train`` and ``eval.py``/``trainlab-eval``.

One run flows: ``train()`` -> a group option without a config file is refused from
``conf/`` alone (``trainlab.usage``, before Hydra is imported) -> ``trainlab.jobs``: the
pre-flight, ``hydra.main``, ``train_job`` -> the engine's ``fit`` (``trainlab.engines``)
-> the run directory. ``resume=<run dir>`` and the other machines of a ``num_nodes``
job take their own paths. Nothing heavy is imported here.
"""

from __future__ import annotations

import os
import sys

from trainlab.usage import refuse, unknown_group_option

#: Flags that make Hydra print instead of run: ``resume=`` with one of them is Hydra's too.
_HELP_FLAGS = {"-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info"}


def _join_other_machine() -> None:
    """``NODE_RANK=1 python train.py ...`` on another machine of a ``trainer.num_nodes`` job:
    it composes nothing and creates no directory; it trains rank 0's job as its ranks.
    """
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")  # c10d's retries: one line instead
    from trainlab.engines.lightning.ranks import main

    main([])


def _run(config_name: str, argv: list[str]) -> None:
    """Refuse a mistyped group option at once; else the pre-flight and Hydra's app."""
    mistake = unknown_group_option(config_name, argv)
    if mistake is not None:
        refuse(mistake)
    from trainlab.jobs import run_app

    run_app(config_name, argv)


def train() -> None:
    argv = sys.argv[1:]
    hydra_only = {"-m", "--multirun", *_HELP_FLAGS} & set(argv)
    if os.environ.get("NODE_RANK", "0").strip() not in ("", "0") and not hydra_only:
        _join_other_machine()
    if any(arg.startswith("resume=") for arg in argv) and not hydra_only:
        from trainlab.jobs import resume_app

        resume_app(argv)
    _run("train", argv)


def evaluate() -> None:
    _run("eval", sys.argv[1:])
