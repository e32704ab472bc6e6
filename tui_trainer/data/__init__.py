"""Datasets as tensors on the training device, plus a spec the models are built from."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config.schema import DataConfig
from .mnist1d import DatasetError


@dataclass(frozen=True)
class DataSpec:
    name: str
    input_shape: tuple[int, ...]  # per sample, channels first: (1, 40) for MNIST-1D
    num_classes: int


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.y.shape[0]


@dataclass(frozen=True)
class Datasets:
    spec: DataSpec
    train: Split
    val: Split
    test: Split


#: What each dataset looks like, known without generating it: splits and per-sample shape.
SPECS = {"mnist1d": DataSpec("mnist1d", (1, 40), 10)}
SIZES = {"mnist1d": (4000, 1000)}  # train (validation carved from it), test


def dataset_spec(name: str) -> DataSpec:
    if name not in SPECS:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(SPECS)}")
    return SPECS[name]


def load_arrays(config: DataConfig) -> tuple[DataSpec, dict]:
    spec = dataset_spec(config.dataset)
    from . import mnist1d

    arrays = mnist1d.load()
    return DataSpec(spec.name, (1, arrays["x"].shape[1]), spec.num_classes), arrays


def load_data(config: DataConfig, device: torch.device | str = "cpu") -> Datasets:
    """Train, validation and test splits as tensors on ``device``.

    The validation split is carved out of the training split with ``config.split_seed``,
    so every training seed sees the same split; the test split is kept for the final score.
    """
    spec, arrays = load_arrays(config)
    x = torch.from_numpy(arrays["x"]).reshape(-1, *spec.input_shape)
    y = torch.from_numpy(arrays["y"])
    n_val = max(1, round(len(y) * config.val_fraction))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(config.split_seed))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x_test = torch.from_numpy(arrays["x_test"]).reshape(-1, *spec.input_shape)
    y_test = torch.from_numpy(arrays["y_test"])

    def split(xs: torch.Tensor, ys: torch.Tensor) -> Split:
        return Split(xs.contiguous().to(device), ys.contiguous().to(device))

    return Datasets(spec, split(x[train_idx], y[train_idx]), split(x[val_idx], y[val_idx]), split(x_test, y_test))


__all__ = ["DataSpec", "DatasetError", "Datasets", "SIZES", "Split", "dataset_spec", "load_data"]
