"""Datasets as tensors on the training device, plus a spec the models are built from.

A dataset is a module here with ``SPEC`` (a :class:`DataSpec`: shape, classes, task, sizes)
and ``load_arrays(config) -> {"x", "y", "x_test", "y_test"}`` (numpy arrays), plus one line
in :data:`DATASETS`; the config's ``data.dataset`` choices must name the same datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType

import torch

from ..config.schema import DataConfig
from . import mnist1d
from .spec import DatasetError, DataSpec

DATASETS: dict[str, ModuleType] = {
    "mnist1d": mnist1d,
}


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.y.shape[0]

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class Datasets:
    spec: DataSpec
    train: Split
    val: Split
    test: Split

    def to(self, device: torch.device | str) -> "Datasets":
        return Datasets(self.spec, self.train.to(device), self.val.to(device), self.test.to(device))


def dataset_spec(name: str) -> DataSpec:
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name].SPEC


def _validation_size(n: int, fraction: float) -> int:
    return max(1, round(n * fraction))


def split_sizes(config: DataConfig) -> tuple[int, int, int]:
    """Train, validation and test sizes, known without loading the data."""
    spec = dataset_spec(config.dataset)
    n_val = _validation_size(spec.train_size, config.val_fraction)
    return spec.train_size - n_val, n_val, spec.test_size


def load_data(config: DataConfig, device: torch.device | str = "cpu") -> Datasets:
    """Train, validation and test splits as tensors on ``device``.

    The validation split is carved out of the training split with ``config.split_seed``,
    so every training seed sees the same split; the test split is kept for the final score.
    """
    spec = dataset_spec(config.dataset)
    arrays = DATASETS[config.dataset].load_arrays(config)
    shape = arrays["x"].shape[1:]  # (L,) for a sequence of one channel, else (C, ...)
    input_shape = (spec.input_shape[0], *shape) if len(shape) == 1 else tuple(shape)
    spec = replace(spec, input_shape=input_shape, train_size=len(arrays["y"]), test_size=len(arrays["y_test"]))
    x = torch.from_numpy(arrays["x"]).reshape(-1, *spec.input_shape)
    y = torch.from_numpy(arrays["y"])
    n_val = _validation_size(len(y), config.val_fraction)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(config.split_seed))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x_test = torch.from_numpy(arrays["x_test"]).reshape(-1, *spec.input_shape)
    y_test = torch.from_numpy(arrays["y_test"])

    def split(xs: torch.Tensor, ys: torch.Tensor) -> Split:
        return Split(xs.contiguous().to(device), ys.contiguous().to(device))

    return Datasets(spec, split(x[train_idx], y[train_idx]), split(x[val_idx], y[val_idx]), split(x_test, y_test))


__all__ = ["DATASETS", "DataSpec", "DatasetError", "Datasets", "Split", "dataset_spec", "load_data", "split_sizes"]
