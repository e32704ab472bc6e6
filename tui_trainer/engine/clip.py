"""The gradient-clipping trick: by global norm or by value, with the pre-clip norm always measured.

Clipping can be switched on or off, or given another threshold, while the run trains (the
knob ``clip``); the clipper keeps what was steered in its ``state_dict``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config.schema import Config
from .knobs import Refused, Steerable, is_number


class Clipper(Steerable):
    """Clips the gradients as the trick says and returns their global L2 norm before clipping
    (measured whether clipping is on or not)."""

    KNOBS = {"clip": "off, on (the preset's threshold), toggle (the app's c key), or a threshold above 0"}

    def __init__(self, params: list[nn.Parameter], enabled: bool, mode: str, threshold: float):
        self.params, self.enabled, self.mode, self.threshold = params, enabled, mode, threshold
        self.preset_threshold = threshold  # what "on" means

    def __call__(self) -> torch.Tensor:
        if self.enabled and self.mode == "norm":
            return nn.utils.clip_grad_norm_(self.params, self.threshold)
        norm = nn.utils.get_total_norm([p.grad for p in self.params if p.grad is not None])
        if self.enabled:
            nn.utils.clip_grad_value_(self.params, self.threshold)
        return norm

    def resolve(self, knob: str, value: Any) -> tuple[str, Any]:
        if value == "toggle":
            return knob, "off" if self.enabled else self.threshold
        if value in ("off", "on"):
            return knob, value if value == "off" else self.preset_threshold
        if is_number(value) and value > 0:
            return knob, float(value)
        raise Refused(f"clip {value}: give a threshold above 0, on or off")

    def apply(self, knob: str, value: Any) -> None:
        """``"off"``, or clip at this threshold."""
        self.enabled = value != "off"
        if value != "off":
            self.threshold = float(value)

    def state_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "threshold": self.threshold}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.enabled, self.threshold = state["enabled"], state["threshold"]


def clipped(clip: Clipper, norms: list[float]) -> int | None:
    """How many of these pre-clip norms clipping by norm cut; None when it cannot be told (off, or by value)."""
    if not clip.enabled or clip.mode != "norm":
        return None
    return sum(1 for n in norms if n > clip.threshold)


def make_clipper(params: list[nn.Parameter], config: Config) -> Clipper:
    clip = config.tricks.grad_clip
    return Clipper(params, clip.enabled, clip.mode, clip.threshold)
