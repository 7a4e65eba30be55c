"""California housing: the 8 scikit-learn features, target in units of 100k USD."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike

from trainlab.data import files, layouts
from trainlab.data.base import DataSpec, DownloadedDataModule, FractionSplitDataModule, Splits
from trainlab.data.layouts import Declared
from trainlab.data.scaling import Scaler, apply_scaler, fit_scaler
from trainlab.errors import DataError

STATLIB_FILE = "cal_housing.data"
STATLIB_SHA256 = "d3d8a1a722ae78f91134862727d27a70b1415e7d512a89140406248687f4b902"


def features_from_statlib(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's derivation of the 8 features and the target from the StatLib columns.

    Columns: longitude, latitude, housingMedianAge, totalRooms, totalBedrooms,
    population, households, medianIncome, medianHouseValue.
    """
    lon, lat, age, rooms, bedrooms, population, households, income, value = table.T
    x = np.stack(
        [
            income,
            age,
            rooms / households,
            bedrooms / households,
            population,
            population / households,
            lat,
            lon,
        ],
        axis=1,
    )
    return x, value / 100_000.0


def read_statlib(
    path: Path, verify: bool = True, how_to_get: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 8 features and the target from the StatLib file at ``path`` (``.gz`` or plain).

    ``verify`` checks its SHA-256; a file that is not the StatLib CSV is one line ending
    in ``how_to_get`` (by default: where to put the right file).
    """
    how_to_get = how_to_get or f"put the StatLib file {STATLIB_FILE} in {path.parent}"
    data = files.read_maybe_gzipped(path)
    if verify:
        files.verify(path, data, STATLIB_SHA256, how_to_get)
    try:
        table = np.loadtxt(data.decode("ascii").splitlines(), delimiter=",", ndmin=2)
    except ValueError as error:
        raise DataError(f"{path} is not the StatLib CSV ({error}); {how_to_get}") from None
    if table.shape[1] != 9:
        raise DataError(f"{path} has {table.shape[1]} columns, not 9; {how_to_get}")
    return features_from_statlib(table)


class HousingDataModule(FractionSplitDataModule, DownloadedDataModule):
    """Seeded train/val/test split; ``scaler`` is fitted on the training split only."""

    declared: ClassVar[Declared] = layouts.HOUSING
    folder: ClassVar[str] = "california_housing"

    def __init__(
        self,
        scaler: Scaler = "standard",
        val_fraction: float | None = 0.1,
        test_fraction: float = 0.2,
        **files_and_loader: Any,
    ) -> None:
        super().__init__(val_fraction, test_fraction, **files_and_loader)
        self.scaler_kind = scaler
        self._scaler = None
        self._fetched: tuple[np.ndarray, np.ndarray] | None = None

    def _how_to_get(self) -> str:
        return self.how_to_get(f"the StatLib file {STATLIB_FILE}")

    def _fetch_with_sklearn(self) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn downloads the StatLib archive and checks its SHA-256 (once per run)."""
        from sklearn.datasets import fetch_california_housing

        if self._fetched is not None:
            return self._fetched

        path = self.directory / STATLIB_FILE
        if not self.download:
            raise DataError(f"{path} not found; {self._how_to_get()}")
        try:
            bunch = fetch_california_housing(data_home=self.directory / "scikit_learn_data")
        except Exception as error:
            raise DataError(
                f"{path} not found and scikit-learn's download failed ({error}); {self._how_to_get()}"
            ) from None
        self._fetched = bunch.data, bunch.target
        return self._fetched

    def prepare_data(self) -> None:
        if files.find_file(self.directory, (STATLIB_FILE, STATLIB_FILE + ".gz")) is None:
            self._fetch_with_sklearn()

    def preprocess(self, inputs: ArrayLike) -> torch.Tensor:
        x = np.asarray(inputs, dtype=np.float64).reshape(-1, layouts.HOUSING_FEATURES)
        return torch.from_numpy(apply_scaler(self._scaler, x))

    def load(self) -> tuple[Splits, DataSpec]:
        path = files.find_file(self.directory, (STATLIB_FILE, STATLIB_FILE + ".gz"))
        x, y = (
            read_statlib(path, self.verify, self._how_to_get()) if path else self._fetch_with_sklearn()
        )
        train, val, test = self.split(len(y))
        self._scaler = fit_scaler(self.scaler_kind, x[train])
        target = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
        splits = Splits(*((self.preprocess(x[idx]), target[idx]) for idx in (train, val, test)))
        return splits, self.declared_spec()
