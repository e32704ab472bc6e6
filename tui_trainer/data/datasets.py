"""Datasets as splits on the training device, plus a spec the models are built from: a dataset
of :mod:`.registry` loaded (:func:`load_data`), resident or streamed."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..config.schema import DataConfig
from .arrays import check_arrays
from .pipeline import InputPipeline, channel_stats
from .registry import _source, dataset_spec
from .spec import DatasetError, DataSpec, Progress, no_progress
from .splits import Split, StreamedSplit, TextSplit

MB = 1 << 20


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:,.0f} MB" if n >= 10 * MB else f"{n / MB:,.1f} MB"
    return f"{max(1, round(n / 1024)):,} KB"


@dataclass(frozen=True)
class Datasets:
    spec: DataSpec
    train: Split | StreamedSplit
    val: Split | StreamedSplit
    test: Split | StreamedSplit
    #: per-channel mean and std of the training split (images), for :class:`InputPipeline`
    stats: tuple[torch.Tensor, torch.Tensor] | None = None
    mode: str = "resident"  # or "streamed"
    mode_detail: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)  # skipped files and other warnings
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # see Arrays.baselines
    targets: dict[str, Any] = field(default_factory=dict)  # regression: see Arrays.targets

    def to(self, device: torch.device | str) -> "Datasets":
        return replace(self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device))

    def samples(self, per_class: int = 1, max_classes: int = 10) -> list[tuple[str, np.ndarray]]:
        """The first ``per_class`` training images of each of the first ``max_classes`` classes, as
        (class name, (C, H, W) array) pairs, for a look at the data."""
        labels = self.train.y.cpu().numpy()
        out = []
        for c in range(min(self.spec.num_classes, max_classes)):
            name = self.spec.classes[c] if c < len(self.spec.classes) else str(c)
            for i in np.flatnonzero(labels == c)[:per_class]:
                if isinstance(self.train, StreamedSplit):
                    image = np.asarray(self.train.source[self.train.rows[i]])
                else:
                    image = self.train.x[int(i)].cpu().numpy()
                out.append((name, image))
        return out

    def pipeline(self, crop_padding: int = 0, flip: bool = False) -> InputPipeline:
        mean, std = self.stats if self.stats is not None else (None, None)
        return InputPipeline(mean, std, crop_padding, flip).to(self.train.device)


def _fraction_of(n: int, fraction: float) -> int:
    return max(1, round(n * fraction))


def split_sizes(config: DataConfig, spec: DataSpec | None = None) -> tuple[int, int, int]:
    """Train, validation and test sizes, known without loading the data."""
    spec = spec or dataset_spec(config)
    pool, n_test = spec.train_size, spec.test_size
    if not n_test:  # no test split of its own: one is carved out first
        n_test = _fraction_of(pool, config.test_fraction)
        pool -= n_test
    n_val = spec.val_size or _fraction_of(pool, config.val_fraction)
    return pool - n_val, n_val, n_test


def memory_budget(config: DataConfig, device: torch.device) -> int:
    """Bytes of data the device may hold: the setting, or half the device's memory."""
    if config.memory_budget_mb > 0:
        return int(config.memory_budget_mb * MB)
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory // 2
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def planned_mode(config: DataConfig, spec: DataSpec, device: torch.device) -> str:
    """Whether the data will be held on ``device`` or streamed, judged from its spec
    (uint8 for images, float32 otherwise)."""
    total = math.prod(spec.input_shape) * (1 if spec.images else 4) * (spec.train_size + spec.test_size)
    budget = memory_budget(config, device)
    return "data resident" if total <= budget else f"data streamed ({_size(total)} > {_size(budget)} budget)"


def _split_rows(config: DataConfig, arrays: Any, y: torch.Tensor, label: Any) -> tuple:
    """The training rows, and the validation and test splits as (x, rows, y): the test split first
    (``data.test_fraction``, unless the data has one of its own), then the validation split carved
    out of the rest with ``config.split_seed``, so every training seed sees the same splits."""
    generator = torch.Generator().manual_seed(config.split_seed)
    if arrays.x_test is None:
        order = torch.randperm(len(y), generator=generator)
        n_test = _fraction_of(len(y), config.test_fraction)
        test_rows, pool = order[:n_test], order[n_test:]
    else:
        test_rows, pool = None, torch.arange(len(y))
    # a validation block of its own (contiguous text): nothing carved, nothing shuffled across
    if arrays.x_val is not None:
        val_x, val_y = arrays.x_val, torch.from_numpy(np.array(arrays.y_val, dtype=label))
        train_rows, val_rows = pool, torch.arange(len(val_y))
    else:
        val_x, val_y = arrays.x, y
        n_val = _fraction_of(len(pool), config.val_fraction)
        order = pool[torch.randperm(len(pool), generator=generator)]
        val_rows, train_rows = order[:n_val], order[n_val:]
    if config.train_limit:
        train_rows = train_rows[: config.train_limit]
    if len(train_rows) < 2:
        raise DatasetError(f"{config.dataset}: {len(y)} samples leave {len(train_rows)} "
                           "for training; give it more data")
    if arrays.x_test is None:
        x_test, y_test = arrays.x, y
    else:
        x_test, y_test = arrays.x_test, torch.from_numpy(np.array(arrays.y_test, dtype=label))
    test_rows = torch.arange(len(y_test)) if test_rows is None else test_rows
    return train_rows, (val_x, val_rows, val_y), (x_test, test_rows, y_test)


def load_data(config: DataConfig, device: torch.device | str = "cpu", progress: Progress = no_progress) -> Datasets:
    """Train, validation and test splits, on ``device`` or (beyond the memory budget) streamed.

    Data without a test split of its own gives up ``data.test_fraction`` of it first. The
    validation split is then carved out of the training split with ``config.split_seed``,
    so every training seed sees the same splits; the test split is kept for the final score.
    """
    device = torch.device(device)
    source = _source(config.dataset)
    spec = source.spec(config)
    arrays = check_arrays(source.load_arrays(config, progress), config.dataset, spec.kind.values)
    classes = arrays.classes or spec.classes
    label = np.float32 if spec.kind.values else np.int64  # regression: the values to predict, (N, horizon)
    y = torch.from_numpy(np.array(arrays.y, dtype=label))
    n_classes = spec.num_classes if spec.kind.values else max(len(classes), int(y.max()) + 1 if len(y) else 0)
    train_rows, (val_x, val_rows, val_y), (x_test, test_rows, y_test) = _split_rows(config, arrays, y, label)
    images = arrays.x.ndim == 4
    spec = replace(spec, input_shape=tuple(arrays.x.shape[1:]), num_classes=n_classes, classes=tuple(classes),
                   train_size=len(train_rows) + len(val_rows), test_size=len(test_rows), images=images or spec.images,
                   val_size=len(val_rows) if arrays.x_val is not None else 0)
    total, budget = arrays.nbytes, memory_budget(config, device)
    stats = channel_stats(arrays.x, np.sort(train_rows.numpy())) if images else None
    resident = total <= budget

    def split(xs: np.ndarray, rows: torch.Tensor, ys: torch.Tensor) -> Split | StreamedSplit:
        if resident:
            return Split(torch.from_numpy(np.ascontiguousarray(xs[rows.numpy()])).to(device),
                         ys[rows].contiguous().to(device))
        return StreamedSplit(xs, rows.numpy(), ys[rows].contiguous(), device)

    splits = split(arrays.x, train_rows, y), split(val_x, val_rows, val_y), split(x_test, test_rows, y_test)
    if arrays.train_ids is not None and resident:  # text: the training block, cut anew each epoch
        splits = (TextSplit(torch.from_numpy(arrays.train_ids).to(device), spec.input_shape[-1], len(train_rows),
                            config.random_offsets),
                  *splits[1:])
    if resident:
        mode, detail = "resident", f"held on {device} ({_size(total)} as {arrays.x.dtype})"
    else:
        workers = splits[0].workers
        how = (f"streamed from disk by {workers} DataLoader workers" if workers
               else "kept in host memory, sent a batch at a time")
        mode, detail = "streamed", f"{how} ({_size(total)} is over the {_size(budget)} budget, data.memory_budget_mb)"
    return Datasets(spec, *splits, stats=stats, mode=mode, mode_detail=detail, notes=arrays.notes,
                    baselines=arrays.baselines, targets=arrays.targets)
