"""trainlab: Hydra composes data x model x optimizer into Lightning or Keras runs.

Importing the package is cheap on purpose: torch, Lightning and Keras are imported
only by the engine that a run selects, so config errors come back in about a second.
"""

__version__ = "0.1.0"
