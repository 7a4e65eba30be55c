"""The "fastest, most compact model" exercise: see ``scripts/conf/compact_search.yaml``.

python scripts/compact_search.py target_acc=0.97 n_trials=30
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from trainlab.errors import TrainlabError


@hydra.main(config_path="conf", config_name="compact_search", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from trainlab.sweep.compact import search

    try:
        search(cfg)
    except TrainlabError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
