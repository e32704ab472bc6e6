"""What a part that can be steered while the run trains declares: its knobs.

A steerable part (the optimizer's LR multiplier and weight decay, the clipper, the model's
dropout layers, early stopping) lists its knobs in ``KNOBS`` with what each changes, turns a
request into the absolute value it asks for (:meth:`Steerable.resolve`, or :class:`Refused` and
why), sets it (:meth:`Steerable.apply`), and keeps what was steered in its own ``state_dict``.
:class:`~.steering.Steering` only routes a request to the part that owns the knob.

A relative knob (``lr_times``, ``patience_by``, ``clip = "toggle"``: the app's keys) resolves
to the absolute one it changes, which is what an :class:`~.events.Intervention` records and a
resume replays.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from torch import nn


class Refused(Exception):
    """A change that makes no sense for this run; its message says why."""


class Steerable:
    """A part with settings that may change between steps."""

    #: knob -> what it changes (the docs and the refusal of an unknown knob read these)
    KNOBS: ClassVar[dict[str, str]] = {}

    def resolve(self, knob: str, value: Any) -> tuple[str, Any]:  # pragma: no cover - each part says
        """The absolute setting ``knob = value`` asks for, as ``(knob, value)``; raises :class:`Refused`."""
        raise NotImplementedError

    def apply(self, knob: str, value: Any) -> None:  # pragma: no cover - each part says
        """Set a resolved value."""
        raise NotImplementedError


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole_number(knob: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"{knob} {value}: must be a whole number of epochs, at least 1")
    return value


class Dropouts(Steerable):
    """The model's Dropout layers, as one part: their ``p`` may change while it trains. Their
    ``p`` is no tensor of the model's ``state_dict``, so a steered one is saved here."""

    KNOBS = {"dropout": "p of every Dropout layer (the model must have some: tricks.dropout)"}

    def __init__(self, model: nn.Module):
        self.layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]

    def resolve(self, knob: str, value: Any) -> tuple[str, Any]:
        if not self.layers:
            raise Refused("this model has no dropout layers (tricks.dropout is off); there is no p to change")
        if not is_number(value) or not 0 <= value < 1:
            raise Refused(f"dropout {value}: p must be in [0, 1)")
        return "dropout", float(value)

    def apply(self, knob: str, value: Any) -> None:
        for layer in self.layers:
            layer.p = value

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.layers[0].p if self.layers else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("p") is not None:
            self.apply("dropout", state["p"])
