"""trainlab's own Optuna sweeper for Hydra multirun.

Why not Hydra's ``hydra-optuna-sweeper``: its latest release (1.3.0) still requires
``optuna < 3``, and it cannot prune a trial, resume a study, or survive a failed trial
(one failed job ends the whole sweep). This one runs on current Optuna and does all three,
and several workers can share one study through its storage.

``python train.py -m hparams_search=digits_optuna`` selects ``hydra/sweeper=optuna``,
whose ``_target_`` lives in ``hydra_plugins.trainlab_sweeper`` (Hydra only instantiates
plugins from that namespace) and delegates to ``optuna_sweeper``. The other modules:
``study`` (the storage, counting and claiming trials), ``recovery`` (heartbeats; a dead
worker's or an interrupted trial runs again), ``outcome`` (a job's result told to its
trial), ``space`` (the search space), ``pruning`` (pruners, and the report from inside
a job) and ``report`` (the table and files at the end). Optuna is imported only when a
sweep starts, so single runs do not pay for it.
"""
