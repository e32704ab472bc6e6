"""The LR schedule trick, built from torch's own schedulers, and its cadence.

- warm-up: ``LinearLR`` from ``lr * warmup_start_factor`` to ``lr``, stepped per batch
  for ``round(warmup_epochs * steps_per_epoch)`` batches;
- cosine: ``CosineAnnealingLR`` per batch over the batches after the warm-up;
- cosine_epoch: ``CosineAnnealingLR(T_max=epochs)`` stepped once per epoch, as the lesson's recipe does;
- onecycle: ``OneCycleLR`` per batch over the whole run (it has its own warm-up);
- step, exponential: ``StepLR`` / ``ExponentialLR`` per epoch;
- plateau: ``ReduceLROnPlateau`` per epoch, fed the monitored validation metric;
- noam: the inverse-square-root schedule of "Attention is all you need", as a ``LambdaLR``
  per batch that includes its own warm-up of w steps: ``lr * min(s / w, sqrt(w / s))`` at
  step s (1-based): a linear rise to ``lr`` at step w, then a fall as 1/sqrt(s).

The warm-up is ``warmup_steps`` optimizer steps, or if that is 0, ``warmup_epochs`` epochs.

Warm-up and the per-epoch schedules are chainable: they multiply the current LR, so
a warm-up that spans a step boundary gives ``lr * warm_factor * gamma**k``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.optim import lr_scheduler

from ..config.tricks import SCHEDULES, LRScheduleConfig, monitor_mode

# Under fp16 the GradScaler skips the optimizer step of an overflowing batch and the
# schedule still advances, as in PyTorch's AMP recipe; torch warns about exactly that.
warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before `optimizer\.step\(\)`")


@dataclass(frozen=True)
class Span:
    """What a schedule spans: the base LR, the run's epochs, its steps after the warm-up, the warm-up's steps."""

    lr: float
    epochs: int
    rest: int
    warmup: int


#: Each kind's torch scheduler, from ``(optimizer, config, span)``; what each reads is declared in
#: ``config.tricks.SCHEDULES``.
BUILDERS: dict[str, Callable[[torch.optim.Optimizer, LRScheduleConfig, Span], Any]] = {
    "step": lambda o, c, s: lr_scheduler.StepLR(o, c.step_size, c.gamma),
    "multistep": lambda o, c, s: lr_scheduler.MultiStepLR(o, milestone_epochs(c, s.epochs), c.gamma),
    "exponential": lambda o, c, s: lr_scheduler.ExponentialLR(o, c.gamma),
    "cosine": lambda o, c, s: lr_scheduler.CosineAnnealingLR(o, max(1, s.rest), eta_min=c.min_lr),
    "cosine_epoch": lambda o, c, s: lr_scheduler.CosineAnnealingLR(o, max(1, s.epochs), eta_min=c.min_lr),
    "onecycle": lambda o, c, s: lr_scheduler.OneCycleLR(o, max_lr=s.lr, total_steps=s.rest, pct_start=c.pct_start,
                                                        div_factor=c.div_factor, final_div_factor=c.final_div_factor),
    "noam": lambda o, c, s: lr_scheduler.LambdaLR(o, noam(max(1, s.warmup))),
    "plateau": lambda o, c, s: lr_scheduler.ReduceLROnPlateau(o, mode=monitor_mode(c.monitor, "auto"), factor=c.factor,
                                                              patience=c.patience, min_lr=c.min_lr),
}


class LRSchedule:
    def __init__(self, optimizer: torch.optim.Optimizer, config: LRScheduleConfig, lr: float, epochs: int,
                 steps_per_epoch: int):
        self.config = config
        self.enabled = config.enabled
        self.total_steps = epochs * steps_per_epoch
        self.steps = 0
        self.warmup_steps = 0
        self.warmup: Any = None
        self.main: Any = None
        self.per_batch = False
        if not self.enabled:
            return
        kind = SCHEDULES[config.kind]
        warmup = min(config.warmup_steps or round(config.warmup_epochs * steps_per_epoch), self.total_steps)
        if kind.warmup == "added":
            self.warmup_steps = warmup
        if self.warmup_steps > 0:
            self.warmup = lr_scheduler.LinearLR(optimizer, config.warmup_start_factor, 1.0,
                                                total_iters=self.warmup_steps)
        self.per_batch = kind.per_batch
        span = Span(lr, epochs, self.total_steps - self.warmup_steps, warmup)  # no warm-up before one-cycle: all of it
        self.main = BUILDERS[config.kind](optimizer, config, span)
        self.fed = isinstance(self.main, lr_scheduler.ReduceLROnPlateau)  # stepped with the monitored metric

    def after_batch(self) -> None:
        """Call after every optimizer step."""
        if not self.enabled:
            return
        self.steps += 1
        if self.steps <= self.warmup_steps:
            self.warmup.step()
        elif self.per_batch and self.steps <= self.total_steps:
            self.main.step()

    def after_epoch(self, metrics: dict[str, float]) -> None:
        """Call after every epoch's validation."""
        if not self.enabled or self.per_batch:
            return
        if self.fed:
            self.main.step(metrics[self.config.monitor])
        else:
            self.main.step()

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "warmup": self.warmup.state_dict() if self.warmup is not None else None,
            "main": self.main.state_dict() if self.main is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = state["steps"]
        if self.warmup is not None and state["warmup"] is not None:
            self.warmup.load_state_dict(state["warmup"])
        if self.main is not None and state["main"] is not None:
            self.main.load_state_dict(state["main"])


def noam(warmup: int):
    """The LR factor of optimizer step ``s + 1`` (LambdaLR counts from 0): the rise to 1 over
    ``warmup`` steps, then 1/sqrt decay."""

    def factor(s: int) -> float:
        s += 1
        return min(s / warmup, math.sqrt(warmup / s))

    return factor


def milestones(config: LRScheduleConfig, epochs: int, steps_per_epoch: int) -> list[tuple[int, str]]:
    """The planned turns of the schedule, as (global steps done, what happens there): the end of
    the warm-up (noam's peak), one-cycle's peak, and each drop of the step schedule. Plateau's cuts
    depend on the run and are told by the epochs' LRs."""
    if not config.enabled:
        return []
    total = epochs * steps_per_epoch
    warmup = min(config.warmup_steps or round(config.warmup_epochs * steps_per_epoch), total)
    marks: list[tuple[int, str]] = []
    peak = _PEAKS.get(config.kind)
    if peak is not None:
        marks.append((peak(config, total), "LR peak"))
    elif warmup > 0:
        marks.append((warmup, "warm-up ends"))
    drops = _DROPS[config.kind](config, epochs) if config.kind in _DROPS else []
    marks += [(e * steps_per_epoch, f"LR ×{config.gamma:g}") for e in drops]
    return sorted(marks)


#: Where a schedule with a peak of its own has it (global steps done), for the markers.
_PEAKS: dict[str, Callable[[LRScheduleConfig, int], int]] = {
    "onecycle": lambda c, total: max(1, round(c.pct_start * total)),
}
#: The epochs after which a stepped schedule drops the LR by gamma.
_DROPS: dict[str, Callable[[LRScheduleConfig, int], list[int]]] = {
    "step": lambda c, epochs: list(range(c.step_size, epochs, c.step_size)),
    "multistep": lambda c, epochs: [e for e in milestone_epochs(c, epochs) if e < epochs],
}


def milestone_epochs(config: LRScheduleConfig, epochs: int) -> list[int]:
    """multistep: the epochs after which the LR drops, from the run's fractions (at least epoch 1)."""
    return sorted({max(1, round(f * epochs)) for f in config.milestones})
