"""Step statistics that stay on the device until they are fetched in one transfer.

A per-step ``.item()`` makes the host wait for the device at every step, the most common way
for a trainer to fall behind the loop it wraps. Each step writes its loss, its pre-clip
gradient norm and (fp16) the GradScaler's scale into a row of a small device tensor; every
``train.stats_every`` steps, or at least every :data:`FLUSH_SECONDS`, the rows are fetched
with one ``tolist()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

FLUSH_SECONDS = 0.1  # fetch step statistics at least this often


@dataclass(frozen=True)
class Fetched:
    """The statistics of consecutive steps, on the host."""

    losses: list[float]
    grad_norms: list[float]  # before clipping
    scales: list[float]  # the GradScaler's scale after each step (0 without one)
    lrs: list[float]  # the LR each step used
    samples: int
    samples_per_second: float  # since the previous fetch, pauses excluded
    seconds: float  # that time


class StepStatsBuffer:
    def __init__(self, size: int, device: torch.device, scaler: torch.amp.GradScaler | None = None):
        self.rows = torch.zeros(size, 3, device=device)  # loss, pre-clip norm, fp16 scale
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.size = size
        self.pending = 0
        self.lrs: list[float] = []
        self.samples = 0  # trained since the last fetch
        self.clock = self.last_fetch = time.perf_counter()

    def start_epoch(self, now: float) -> None:
        """The samples/s of an epoch's first fetch counts from the epoch's start (not the validation before it)."""
        self.clock = now

    def exclude(self, seconds: float) -> None:
        """Time the run spent paused does not count against samples/s."""
        self.clock += seconds

    def record(self, loss: torch.Tensor, norm: torch.Tensor, lr: float, samples: int) -> torch.Tensor:
        """Write a step's loss and norm into the next row (no sync) and return the row."""
        row = self.rows[self.pending]
        row[0] = loss.detach()
        row[1] = norm
        self.lrs.append(lr)
        self.pending += 1
        self.samples += samples
        return row

    def record_scale(self, row: torch.Tensor) -> None:
        """fp16: the GradScaler's scale after the step (no sync); a drop marks a step it skipped."""
        if self.scaler is not None:
            row[2] = self.scaler._scale

    def due(self) -> bool:
        return self.pending == self.size or time.perf_counter() - self.last_fetch >= FLUSH_SECONDS

    def fetch(self) -> Fetched | None:
        """The pending rows, in one transfer; None when there are none."""
        if not self.pending:
            return None
        values = self.rows[: self.pending].tolist()
        now = time.perf_counter()
        elapsed = now - self.clock
        fetched = Fetched(
            losses=[v[0] for v in values],
            grad_norms=[v[1] for v in values],
            scales=[v[2] for v in values],
            lrs=self.lrs,
            samples=self.samples,
            samples_per_second=self.samples / elapsed if elapsed > 0 else 0.0,
            seconds=elapsed,
        )
        self.clock = self.last_fetch = now
        self.pending, self.samples, self.lrs = 0, 0, []
        return fetched
