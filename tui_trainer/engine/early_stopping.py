"""The early-stopping trick: it owns the best value, the best epoch and the patience counter.

It also decides which weights are "best" (``best.pt``) when the trick is off, by the
same monitor, so a run always knows its best epoch. A non-finite value never counts
as an improvement. Its patience may change while the run trains (the knobs ``patience`` and
``patience_by``), and is saved with the rest of its state.
"""

from __future__ import annotations

import math
from typing import Any

from ..config.tricks import EarlyStoppingConfig, monitor_mode
from .knobs import Refused, Steerable, whole_number


class EarlyStopping(Steerable):
    KNOBS = {"patience": "early stopping's patience, in epochs (the trick must be on)",
             "patience_by": "adds to the patience (the app's [ and ] keys); recorded as patience"}

    def __init__(self, config: EarlyStoppingConfig, default_monitor: str = "val_loss"):
        """``default_monitor``: what ``monitor = "auto"`` watches, the task's own metric."""
        self.enabled = config.enabled
        self.monitor = default_monitor if config.monitor == "auto" else config.monitor
        self.mode = monitor_mode(self.monitor, config.mode)
        self.patience = config.patience
        self.min_delta = config.min_delta
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Record an epoch's metrics; return True when they improve on the best."""
        value = metrics[self.monitor]
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        improved = improved and math.isfinite(value)
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
        else:
            self.wait += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.wait >= self.patience

    def resolve(self, knob: str, value: Any) -> tuple[str, Any]:
        if not self.enabled:
            raise Refused("early stopping is off in this run; there is no patience to change")
        value = whole_number(knob, value)
        if knob == "patience_by":
            return "patience", max(1, self.patience + value)
        if value < 1:
            raise Refused(f"{knob} {value}: must be a whole number of epochs, at least 1")
        return knob, value

    def apply(self, knob: str, value: Any) -> None:
        self.patience = value

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "patience": self.patience}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.patience = state.get("patience", self.patience)  # a last.pt of an older version has none
