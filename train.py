"""Train a model: ``python train.py model=mlp_dropout`` (see conf/train.yaml)."""

from trainlab.cli import train

if __name__ == "__main__":
    train()
