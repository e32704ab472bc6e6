"""Non-finite losses and gradients, in one place: ``train.on_nonfinite`` and the GradScaler's skips.

- ``stop`` (default): nothing happens in the step. When the statistics are fetched (within
  ``train.stats_every`` steps), the first step with a non-finite loss or gradient norm ends
  the run as ``diverged``.
- ``skip``: every step is checked, one device sync a step. A non-finite step is not taken:
  no optimizer or schedule step, and BatchNorm's running statistics, which its forward pass
  already changed, are put back. Past ``train.max_skipped_steps`` skips the run is diverged.
- fp16: the GradScaler skips a step whose gradients overflowed and lowers its scale. Such
  steps are found from a drop in the scale (fetched with the statistics, no extra sync),
  counted and reported, and are not a divergence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..config.schema import TrainConfig
from .events import StepsSkipped
from .outcome import Outcome
from .stats import Fetched

DIVERGED_HINT = "try a lower train.lr, gradient clipping (--grad-clip) or a warm-up (tricks.lr_schedule.warmup_epochs)"


def finite_state(model: nn.Module) -> bool:
    """Whether every floating-point parameter and buffer is finite (one sync): ``best.pt``
    is only written from such weights."""
    checks = [torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()]
    return bool(torch.stack(checks).all()) if checks else True


@dataclass(frozen=True)
class Review:
    """What a fetch of step statistics says about non-finite steps."""

    skipped: set[int]  # steps skipped by the policy: their losses leave the epoch's mean
    events: list[StepsSkipped]
    outcome: Outcome | None  # diverged, or None


class NonFinitePolicy:
    def __init__(self, train: TrainConfig, model: nn.Module, scaler: torch.amp.GradScaler, counts: dict[str, int]):
        self.skip_steps = train.on_nonfinite == "skip"
        self.max_skipped = train.max_skipped_steps
        self.scaler = scaler if scaler.is_enabled() else None  # fp16: its skips are counted, not a divergence
        self.counts = counts  # skipped steps by cause, for the whole run
        self.buffers = list(model.buffers()) if self.skip_steps else []
        self.kept = [b.clone() for b in self.buffers]
        self.skipped_steps: list[int] = []  # skipped since the last review
        self.last_scale = float(self.scaler.get_scale()) if self.scaler is not None else None
        self.checked = slice(0, 2)  # the row's loss and norm; the norm alone under DDP (the loss is each process's own)

    def before_step(self) -> None:
        """skip: keep BatchNorm's running statistics, to put back if the step is skipped."""
        if self.kept:
            torch._foreach_copy_(self.kept, self.buffers)

    def skip(self, row: torch.Tensor, step: int) -> bool:
        """skip: whether step ``step`` (its loss and norm in ``row``) is non-finite and so not taken."""
        if not self.skip_steps or bool(torch.isfinite(row[self.checked]).all()):  # the policy's one sync a step
            return False
        self.skipped_steps.append(step)
        self.counts["nonfinite"] += 1
        if self.kept:
            torch._foreach_copy_(self.buffers, self.kept)
        if self.scaler is not None:  # unscale_ ran: the scaler must close the step (it lowers its scale)
            self.scaler.update()
        return True

    def review(self, fetched: Fetched, first_step: int, epoch: int) -> Review:
        """Steps ``first_step + 1 ...`` as fetched: which the GradScaler skipped, which the policy
        skipped, and whether the run diverged."""
        skipped_now = set(self.skipped_steps)
        scaler_skips: list[int] = []
        if self.scaler is not None:  # the GradScaler lowers its scale after each step it skips
            for i, scale in enumerate(fetched.scales):
                step = first_step + i + 1
                if self.last_scale is not None and scale < self.last_scale and step not in skipped_now:
                    scaler_skips.append(step)
                self.last_scale = scale
        outcome = None
        if not self.skip_steps:
            outcome = self._first_nonfinite(fetched, first_step, set(scaler_skips))
        elif self.counts["nonfinite"] > self.max_skipped:
            outcome = Outcome("diverged", f"{self.counts['nonfinite']} steps skipped for a non-finite loss or gradient "
                                          f"(more than train.max_skipped_steps = {self.max_skipped}); {DIVERGED_HINT}")
        events = []
        if scaler_skips:
            self.counts["grad_scaler"] += len(scaler_skips)
            events.append(StepsSkipped(epoch, scaler_skips, "grad_scaler", self.counts["grad_scaler"]))
        if self.skipped_steps:
            events.append(StepsSkipped(epoch, self.skipped_steps, "nonfinite", self.counts["nonfinite"]))
            self.skipped_steps = []
        return Review(skipped_now, events, outcome)

    @staticmethod
    def _first_nonfinite(fetched: Fetched, first_step: int, scaler_skips: set[int]) -> Outcome | None:
        for i, (loss, norm) in enumerate(zip(fetched.losses, fetched.grad_norms)):
            step = first_step + i + 1
            if step in scaler_skips:
                continue  # fp16 overflow handled by the scaler: not a divergence
            if not (math.isfinite(loss) and math.isfinite(norm)):
                return Outcome("diverged", f"non-finite loss or gradient at step {step}; {DIVERGED_HINT}")
        return None
