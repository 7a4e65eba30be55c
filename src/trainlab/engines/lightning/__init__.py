"""``engine=lightning``: Lightning's ``Trainer.fit`` with the configured callbacks and loggers.

``engine.py`` runs a fit and an evaluation; ``build.py`` turns the config into the
``TrainModule`` and the ``Trainer``; ``module.py`` is the ``TrainModule`` itself.
"""

from trainlab.engines.lightning.engine import LightningEngine

__all__ = ["LightningEngine"]
