"""The loop's state in one home: where the run is, what it has counted, its best weights.

``last.pt`` holds it (with the model, optimizer, schedule, scaler and early-stopping
states); :meth:`RunState.from_checkpoint` is where a resumed run picks up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches plus the last partial one, unless it would hold a single sample
    (BatchNorm cannot normalise a batch of one); that sample is reshuffled next epoch."""
    full, rest = divmod(n, batch_size)
    return max(1, full + (1 if rest >= 2 else 0))


@dataclass(frozen=True)
class Outcome:
    """How a run ends: ``completed``, ``early_stopped``, ``stopped``, ``diverged`` (or ``failed``)."""

    status: str
    reason: str


@dataclass
class RunState:
    epochs_run: int = 0  # epochs complete (trained and validated)
    epoch: int = 0  # the epoch in progress, 0-based
    step_in_epoch: int = 0  # its steps done
    global_step: int = 0  # steps reported so far
    samples: int = 0  # trained, over every session of the run
    train_seconds: float = 0.0  # in the step loops, pauses excluded
    wall_before: float = 0.0  # wall time of the sessions before a resume
    skipped: dict[str, int] = field(default_factory=lambda: {"nonfinite": 0, "grad_scaler": 0})
    epoch_losses: list[float] = field(default_factory=list)  # the epoch's step losses, skipped steps left out
    shuffle_state: torch.Tensor | None = None  # the shuffling generator at the start of the epoch in progress
    resume_step: int = 0  # a resumed run starts its first epoch at this step
    best_state: dict[str, torch.Tensor] | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)  # this session
    epoch_started: float = 0.0
    epoch_paused: float = 0.0
    epoch_train_seconds: float = 0.0

    @classmethod
    def from_checkpoint(cls, last: dict[str, Any], best: dict[str, Any] | None) -> "RunState":
        counters = last.get("counters", {})
        state = cls(
            epochs_run=last["epoch"],
            epoch=last["epoch"],
            global_step=last["global_step"],
            samples=counters.get("samples", 0),
            train_seconds=counters.get("train_seconds", 0.0),
            wall_before=counters.get("wall_seconds", 0.0),
            epoch_losses=[float(v) for v in last.get("epoch_losses", [])],
            resume_step=last["step_in_epoch"],
        )
        state.skipped.update(counters.get("skipped", {}))
        if best is not None and best.get("epoch", 0) <= state.epochs_run:  # a later best.pt is re-made by the replay
            state.best_state = best["model"]
            state.best_metrics = {k: float(v) for k, v in best.get("metrics", {}).items()}
        return state

    def begin_epoch(self, epoch: int, shuffle_state: torch.Tensor) -> int:
        """Start epoch ``epoch`` (0-based); return its first step: 0, or where a resumed run stopped."""
        first, self.resume_step = self.resume_step, 0
        self.epoch, self.step_in_epoch, self.shuffle_state = epoch, first, shuffle_state
        if not first:
            self.epoch_losses = []
        self.epoch_started, self.epoch_paused = time.perf_counter(), 0.0
        return first

    def checkpoint(self, mid_epoch: bool) -> dict[str, Any]:
        """The counters for ``last.pt``: at the end of ``epochs_run`` epochs, or (``mid_epoch``)
        ``step_in_epoch`` steps into the next one."""
        return {
            "epoch": self.epochs_run,
            "step_in_epoch": self.step_in_epoch if mid_epoch else 0,
            "global_step": self.global_step,
            "epoch_losses": torch.tensor(self.epoch_losses if mid_epoch and self.step_in_epoch else [], dtype=torch.float64),
            "counters": {
                "samples": self.samples,
                "train_seconds": self.train_seconds,
                "wall_seconds": self.wall_seconds(),
                "skipped": dict(self.skipped),
            },
        }

    def wall_seconds(self) -> float:
        return self.wall_before + time.perf_counter() - self.started
