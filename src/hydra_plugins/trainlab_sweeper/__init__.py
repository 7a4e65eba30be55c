"""Registers trainlab's Optuna sweeper with Hydra.

Hydra instantiates a sweeper only from a class defined under the ``hydra_plugins``
namespace (``Plugins.is_in_toplevel_plugins_module``), and imports every module here
on each start: this module stays tiny and imports neither Optuna nor torch.
"""

from trainlab.sweep.optuna_sweeper import OptunaSweeper as _OptunaSweeper


class OptunaSweeper(_OptunaSweeper):
    """``hydra/sweeper=optuna``: see ``trainlab.sweep.optuna_sweeper``."""
