"""Optuna sweeps in Hydra multirun: search space, study storage, pruning and report.

``python train.py -m hparams_search=digits_optuna`` selects ``hydra/sweeper=optuna``,
whose ``_target_`` lives in ``hydra_plugins.trainlab_sweeper`` (Hydra only
instantiates plugins from that namespace) and delegates to
``trainlab.sweep.optuna_sweeper``. Optuna is imported only when a sweep starts, so
single runs do not pay for it.
"""
