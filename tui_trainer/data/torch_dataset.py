"""A user's map-style ``torch.utils.data.Dataset`` of ``(x, y)`` pairs, read as the array of samples
the splits index: ``rows[indices]`` stacks those samples, and its shape and dtype are the first
sample's. So it goes where the built-in data goes: held on the device when it fits the memory
budget, otherwise streamed a batch at a time (``data.memory_budget_mb``), each batch read through
the Dataset's own ``__getitem__``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .spec import DatasetError


def is_dataset(value: Any) -> bool:
    """A map-style Dataset (``len`` and ``[i]``), not an array, a tensor, a dict or a sequence of splits."""
    return (hasattr(value, "__getitem__") and hasattr(value, "__len__") and not hasattr(value, "shape")
            and not isinstance(value, (dict, list, tuple, str, bytes)))


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class DatasetRows:
    """The samples of ``dataset``, indexed like an array (``where``: the setting, for messages)."""

    def __init__(self, dataset: Any, where: str):
        self.dataset, self.where = dataset, where
        n = len(dataset)
        if n == 0:
            raise DatasetError(f"{where}: the Dataset it returned is empty")
        first = self._sample(0)
        self.dtype = first.dtype
        self.shape = (n, *first.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def _sample(self, i: int) -> np.ndarray:
        try:
            pair = self.dataset[int(i)]
        except Exception as exc:
            raise DatasetError(f"{self.where}: reading sample {int(i)} of its Dataset raised {type(exc).__name__}: "
                               f"{exc}") from None
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DatasetError(f"{self.where}: its Dataset gave {type(pair).__name__} for sample {int(i)}; give "
                               "(x, y) pairs")
        x = _numpy(pair[0])
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise DatasetError(f"{self.where}: its Dataset gave x of dtype {x.dtype}; give numbers")
        return x if x.dtype == np.uint8 and x.ndim == 3 else x.astype(np.float32, copy=False)

    def __getitem__(self, rows: Any) -> np.ndarray:
        if isinstance(rows, slice):
            rows = range(*rows.indices(len(self)))
        samples = [self._sample(i) for i in np.atleast_1d(np.asarray(rows))]
        shapes = {s.shape for s in samples}
        if len(shapes) > 1 or (samples and samples[0].shape != self.shape[1:]):
            raise DatasetError(f"{self.where}: its Dataset's samples differ in shape ({', '.join(map(str, shapes))} "
                               f"against {self.shape[1:]} for the first); give samples of one shape")
        return np.stack(samples).astype(self.dtype, copy=False)


def labels(dataset: Any, where: str) -> np.ndarray:
    """Every sample's target: the Dataset's ``targets`` where it has them (as torchvision's datasets do),
    else read sample by sample, once."""
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        found = _numpy(targets)
        if len(found) == len(dataset):
            return found
    try:
        return np.stack([_numpy(dataset[i][1]) for i in range(len(dataset))])
    except Exception as exc:
        raise DatasetError(f"{where}: reading the targets of its Dataset raised {type(exc).__name__}: {exc}") from None
