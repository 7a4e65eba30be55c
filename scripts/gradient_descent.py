"""The gradient-descent lesson as pictures: see ``scripts/conf/gradient_descent.yaml``.

python scripts/gradient_descent.py lr=0.01 steps=100
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from trainlab.errors import TrainlabError


@hydra.main(config_path="conf", config_name="gradient_descent", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from trainlab.lessons.gradient_descent import run

    try:
        run(cfg)
    except TrainlabError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
