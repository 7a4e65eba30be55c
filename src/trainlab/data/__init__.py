"""In-memory DataModules: every split is a pair of tensors served by batched indexing."""

from trainlab.data.base import BatchLoader, DataSpec, Splits, TensorDataModule

__all__ = ["BatchLoader", "DataSpec", "Splits", "TensorDataModule"]
