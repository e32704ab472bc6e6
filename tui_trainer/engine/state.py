"""The loop's state in one home: where the run is, what it has counted, its best weights.

``last.pt`` holds it with the state of every part (:meth:`~.parts.Parts.stateful`, the settings
steered while it trained included; see :func:`last_checkpoint`); :func:`restore` is where a
resumed run picks up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .events import Intervention

if TYPE_CHECKING:
    from .distributed import Distributed
    from .parts import Parts
    from .steering import Steering
    from .store import RunStore


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
    epoch_steps: int = 0  # this session's steps of the epoch in progress
    epoch_clipped: int | None = None  # of those, clipped by norm (None: clipping off or by value)

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
        self.epoch_steps, self.epoch_clipped = 0, None
        return first

    def checkpoint(self, mid_epoch: bool) -> dict[str, Any]:
        """The counters for ``last.pt``: at the end of ``epochs_run`` epochs, or (``mid_epoch``)
        ``step_in_epoch`` steps into the next one."""
        return {
            "epoch": self.epochs_run,
            "step_in_epoch": self.step_in_epoch if mid_epoch else 0,
            "global_step": self.global_step,
            "epoch_losses": torch.tensor(self.epoch_losses if mid_epoch and self.step_in_epoch else [],
                                         dtype=torch.float64),
            "counters": {
                "samples": self.samples,
                "train_seconds": self.train_seconds,
                "wall_seconds": self.wall_seconds(),
                "skipped": dict(self.skipped),
            },
        }

    def wall_seconds(self) -> float:
        return self.wall_before + time.perf_counter() - self.started


def restore(parts: Parts, steer: Steering, folder: RunStore | None, dist: Distributed, last: dict[str, Any],
            best: dict[str, Any] | None) -> RunState:
    """Every part's state (the steered settings with it) and the counters of ``last.pt``, with
    ``metrics.jsonl`` cut back to that checkpoint and the interventions after it to replay."""
    parts.load_state_dict(_steered_by_part(last))
    parts.shuffle.set_state(last["rng"]["shuffle"])
    if folder is not None and "metrics_bytes" in last:
        steer.replay = [e for e in folder.events_after(last["metrics_bytes"]) if isinstance(e, Intervention)]
        folder.truncate_metrics(last["metrics_bytes"])  # drop events after the checkpoint (interventions replay)
    state = RunState.from_checkpoint(last, best)
    if dist.enabled:  # each process's own share of the epoch's losses
        state.epoch_losses = [float(v) for v in last["ranks"][dist.rank]["epoch_losses"]]
    return state


def _steered_by_part(last: dict[str, Any]) -> dict[str, Any]:
    """A ``last.pt`` written before each part kept what was steered (one ``steering`` entry),
    as the parts read it now; a newer one as it is."""
    old = last.get("steering")
    if old is None:
        return last
    return {**last, "optimizer": {**last["optimizer"], "lr_scale": old["lr_scale"], "sgd_decay": old["sgd_decay"]},
            "early_stopping": {**last["early_stopping"], "patience": old["patience"]},
            "clip": {"enabled": old["clip_enabled"], "threshold": old["clip_threshold"]},
            "dropout": {"p": old["dropout"]}}


def last_checkpoint(parts: Parts, folder: RunStore | None, dist: Distributed, state: RunState,
                    mid_epoch: bool) -> dict[str, Any] | None:
    """``last.pt``: at the end of ``state.epochs_run`` epochs, or (``mid_epoch``, a stop)
    ``state.step_in_epoch`` steps into the next, with the shuffling generator at that epoch's
    start so a resume replays its order. With ``metrics_bytes``, a resume drops the events
    written after this point. Several processes: every one takes part (each one's dropout RNG
    and share of the epoch's losses travel to process 0); None where no run folder is attached."""
    ranks = None
    if dist.enabled:
        losses = torch.tensor(state.epoch_losses if mid_epoch and state.step_in_epoch else [], dtype=torch.float64)
        ranks = dist.gather({"rng": torch.get_rng_state(), "epoch_losses": losses})
    if folder is None:
        return None
    checkpoint = {
        **parts.state_dict(),  # the model's is the plain module's: no DDP prefixes, a single process loads it
        **state.checkpoint(mid_epoch),
        "rng": {"torch": torch.get_rng_state(),
                "shuffle": state.shuffle_state if mid_epoch else parts.shuffle.get_state()},
        "metrics_bytes": folder.metrics_offset(),
        "world_size": dist.world_size,
    }
    if ranks is not None:
        checkpoint["ranks"] = ranks
    return checkpoint
