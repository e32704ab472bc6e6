"""A split of the data, and how its batches reach the device.

:class:`Split` holds its samples on the device (the default: one gather an epoch, batches are
views). :class:`StreamedSplit` leaves them on disk, memory-mapped, and a DataLoader with
workers reads each batch (pinned on CUDA) in the same order a resident split would use, so
the two modes train alike.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

Batch = tuple[torch.Tensor, torch.Tensor]


def eval_steps(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.y.shape[0]

    @property
    def device(self) -> torch.device:
        return self.x.device

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.x.to(device), self.y.to(device))

    def for_epoch(self, generator: torch.Generator) -> "Split":
        """The samples of the next epoch: the same ones."""
        return self

    def batches(self, batch_size: int, order: torch.Tensor | None = None, first: int = 0,
                steps: int | None = None) -> Iterator[Batch]:
        """Batches ``first`` to ``steps`` (default: all, the last one partial) of the split, in ``order`` if given."""
        # one gather; batches are views
        xs, ys = (self.x[order], self.y[order]) if order is not None else (self.x, self.y)
        for b in range(first, eval_steps(len(self), batch_size) if steps is None else steps):
            yield xs[b * batch_size : (b + 1) * batch_size], ys[b * batch_size : (b + 1) * batch_size]


@dataclass(frozen=True)
class TextSplit:
    """A block of text held as one row of character ids, cut into ``n`` sequences of ``seq_len``
    (targets: the next characters). Each epoch may cut it at a new offset in [0, seq_len), drawn
    from the shuffling generator (``data.random_offsets``), so sequences start at new places
    and a character is seen with a different amount of context before it; ``n`` leaves room
    for every offset, so an epoch always has the same number of steps."""

    ids: torch.Tensor  # (characters,) int64
    seq_len: int
    n: int
    random_offsets: bool = True

    def __len__(self) -> int:
        return self.n

    @property
    def device(self) -> torch.device:
        return self.ids.device

    def to(self, device: torch.device | str) -> "TextSplit":
        return replace(self, ids=self.ids.to(device))

    def at(self, offset: int) -> Split:
        span = self.n * self.seq_len
        return Split(self.ids[offset : offset + span].view(self.n, self.seq_len),
                     self.ids[offset + 1 : offset + 1 + span].view(self.n, self.seq_len))

    @property
    def x(self) -> torch.Tensor:
        return self.at(0).x

    @property
    def y(self) -> torch.Tensor:
        return self.at(0).y

    def for_epoch(self, generator: torch.Generator) -> Split:
        if not self.random_offsets:
            return self.at(0)
        return self.at(int(torch.randint(0, self.seq_len, (1,), device=generator.device, generator=generator)))

    def batches(self, batch_size: int, order: torch.Tensor | None = None, first: int = 0,
                steps: int | None = None) -> Iterator[Batch]:
        return self.at(0).batches(batch_size, order, first, steps)


class _Batches(Dataset):
    """Item ``b`` is batch ``b``: one read of its rows from the memory-mapped array. The workers
    start from a fork server (forking the trainer itself, which has threads, can deadlock), so a
    worker maps the file again rather than receive a copy of it."""

    def __init__(self, source: np.ndarray, rows: np.ndarray, labels: torch.Tensor, batch_size: int):
        self.source, self.rows, self.labels, self.batch_size = source, rows, labels, batch_size

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if isinstance(self.source, np.memmap) and self.source.filename:
            state["source"] = str(self.source.filename)  # the path, not the data
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["source"], str):
            state["source"] = np.load(state["source"], mmap_mode="r")
        self.__dict__.update(state)

    def __len__(self) -> int:
        return eval_steps(len(self.rows), self.batch_size)

    def __getitem__(self, b: int) -> Batch:
        lo, hi = b * self.batch_size, (b + 1) * self.batch_size
        return torch.from_numpy(np.ascontiguousarray(self.source[self.rows[lo:hi]])), self.labels[lo:hi]


def _quiet_exit(worker_id: int) -> None:
    """A worker forked from a thread other than the main one (the app trains in one) fails in
    ``threading._shutdown`` as it exits (CPython's main-thread bookkeeping after such a fork),
    so it would exit with code 1 after its work is done, which torch reports as a crash once
    it watches its workers. The worker has no threads of its own to wait for."""
    threading._shutdown = lambda: None


def _fork_server() -> multiprocessing.context.BaseContext:
    """The fork server's context, torch loaded in the server once, so each epoch's workers start
    in milliseconds rather than import torch again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", __name__])
    return context


def loader_workers(source: np.ndarray) -> int:
    """Workers read a memory-mapped file; samples already in memory are sliced in the loop."""
    return min(2, os.cpu_count() or 1) if isinstance(source, np.memmap) and source.filename else 0


@dataclass(frozen=True)
class StreamedSplit:
    """Samples left on the host, sent to the device a batch at a time. From a memory-mapped
    ``.npy`` (the image caches), DataLoader workers read the batches ahead."""

    source: np.ndarray  # every sample of the dataset, usually a memory-mapped .npy
    rows: np.ndarray  # this split's rows of it
    y: torch.Tensor  # its labels, on the CPU
    device: torch.device

    @property
    def workers(self) -> int:
        return loader_workers(self.source)

    def __len__(self) -> int:
        return len(self.rows)

    def to(self, device: torch.device | str) -> "StreamedSplit":
        return replace(self, device=torch.device(device))

    def for_epoch(self, generator: torch.Generator) -> "StreamedSplit":
        return self

    def batches(self, batch_size: int, order: torch.Tensor | None = None, first: int = 0,
                steps: int | None = None) -> Iterator[Batch]:
        rows, labels = self.rows, self.y
        if order is not None:
            cpu = order.cpu()
            rows, labels = rows[cpu.numpy()], labels[cpu]
        dataset = _Batches(self.source, rows, labels, batch_size)
        last = len(dataset) if steps is None else steps
        workers = self.workers
        # its own generator: the loader's worker seed must not consume the global RNG that dropout draws from
        loader = DataLoader(dataset, batch_size=None, sampler=range(first, last), num_workers=workers,
                            pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None,
                            worker_init_fn=_quiet_exit if workers else None, generator=torch.Generator(),
                            multiprocessing_context=_fork_server() if workers else None)
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
