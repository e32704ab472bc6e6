"""Steering a live run: settings that may change while it trains, at a step boundary.

The knobs (what a request may hold; :data:`KNOBS`):

- ``lr_scale``: a multiplier on the schedule's LR (the schedule itself runs on untouched: the
  optimizer steps with ``scheduled LR × scale``, and the LR recorded is that product);
  ``lr_times`` multiplies the current scale (the app's keys) and is recorded as ``lr_scale``;
- ``clip``: ``"off"``, ``"on"`` (the preset's threshold) or a threshold;
- ``dropout``: p of every Dropout layer;
- ``weight_decay``: the decay coefficient of the decayed parameters (the trick must be on);
- ``patience``: early stopping's patience (the trick must be on); ``patience_by`` adds to it.

``clip = "toggle"``, ``lr_times`` and ``patience_by`` are the app's keys; each is recorded as
the absolute value it gave.

A request that makes no sense (``lr_scale`` 0, dropout on a model without any) is refused with
the reason and changes nothing. Each applied one is an :class:`~.events.Intervention` event with
its step. The current values travel in ``last.pt``; the interventions recorded after the
checkpoint are replayed by a resume at the same steps, so a resumed run stays exact.
"""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Iterator

from torch import nn

from .events import Intervention

if TYPE_CHECKING:
    from ..config import Config
    from .parts import Parts

_UNSCALED = nullcontext()  # reusable: the steps of an unsteered run
KNOBS = ("lr_scale", "lr_times", "clip", "dropout", "weight_decay", "patience", "patience_by")


class Steering:
    """The run's steerable settings: the LR multiplier is its own; the others belong to the
    parts (the clipper, the model's dropout layers, the optimizer, early stopping), and a
    change goes through them."""

    def __init__(self, parts: Parts, config: Config):
        self.parts, self.config = parts, config
        self.lr_scale = 1.0
        self.replay: list[Intervention] = []  # from the run's record after its checkpoint (a resume), oldest first

    def due(self, step: int) -> list[Intervention]:
        """The recorded interventions to replay before step ``step + 1``."""
        out = []
        while self.replay and self.replay[0].step <= step:
            out.append(self.replay.pop(0))
        return out

    # -- requests ----------------------------------------------------------------------

    def resolve(self, changes: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The absolute changes a request asks for, or None and why it makes no sense."""
        p = self.parts
        unknown = [k for k in changes if k not in KNOBS]
        if unknown:
            return None, (f"unknown setting {', '.join(unknown)}; these can change while a run trains: "
                          f"{', '.join(KNOBS)}")
        out: dict[str, Any] = {}
        for key, value in changes.items():
            if key in ("lr_scale", "lr_times"):
                if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                    return None, f"{key} {value}: must be a number above 0 (the LR would stop or flip)"
                out["lr_scale"] = float(value) * (self.lr_scale if key == "lr_times" else 1.0)
            elif key == "clip":
                if value == "toggle":
                    out["clip"] = "off" if p.clip.enabled else p.clip.threshold
                elif value in ("off", "on"):
                    out["clip"] = value if value == "off" else self.config.tricks.grad_clip.threshold
                elif isinstance(value, (int, float)) and value > 0 and math.isfinite(value):
                    out["clip"] = float(value)
                else:
                    return None, f"clip {value}: give a threshold above 0, on or off"
            elif key == "dropout":
                if not self._dropouts():
                    return None, "this model has no dropout layers (tricks.dropout is off); there is no p to change"
                if not isinstance(value, (int, float)) or not 0 <= value < 1:
                    return None, f"dropout {value}: p must be in [0, 1)"
                out["dropout"] = float(value)
            elif key == "weight_decay":
                if not self.config.tricks.weight_decay.enabled:
                    return None, ("weight decay is off in this run (tricks.weight_decay); there is no coefficient "
                                  "to change")
                if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    return None, f"weight_decay {value}: must be in [0, 1]"
                out["weight_decay"] = float(value)
            elif key in ("patience", "patience_by"):
                if not p.early.enabled:
                    return None, "early stopping is off in this run; there is no patience to change"
                if not isinstance(value, int) or isinstance(value, bool) or (key == "patience" and value < 1):
                    return None, f"{key} {value}: must be a whole number of epochs, at least 1"
                out["patience"] = max(1, p.early.patience + value) if key == "patience_by" else value
        if not out:
            return None, "nothing to change"
        return out, ""

    def apply(self, changes: dict[str, Any]) -> None:
        """Set the (resolved) values, each through the part that owns it."""
        p = self.parts
        for key, value in changes.items():
            if key == "lr_scale":
                self.lr_scale = value
            elif key == "clip":
                p.clip.set(value)
            elif key == "dropout":
                for module in self._dropouts():
                    module.p = value
            elif key == "weight_decay":
                p.optim.set_weight_decay(value)
            elif key == "patience":
                p.early.patience = value

    def at_boundary(self, control, step: int, epoch: int) -> list[Intervention]:
        """Apply what is due before step ``step + 1``: the replayed interventions, then the
        requests waiting in ``control`` (each answered); the events to emit."""
        events = []
        for recorded in self.due(step):
            self.apply(recorded.changes)
            events.append(Intervention(step, epoch, recorded.changes, "replay"))
        for changes, source, reply in control.take_changes():
            resolved, why = self.resolve(changes)
            if resolved is not None:
                self.apply(resolved)
                events.append(Intervention(step, epoch, resolved, source))
            if reply is not None:
                reply("applied" if resolved is not None else "refused", why or events[-1].describe(), step)
        return events

    def _dropouts(self) -> list[nn.Dropout]:
        return [m for m in self.parts.model.modules() if isinstance(m, nn.Dropout)]

    def scaled(self, optimizer):
        """The optimizer steps at ``lr × lr_scale``; the schedule's own LRs are put back after
        (nothing at all to do, and no generator made, while the scale is 1)."""
        return _UNSCALED if self.lr_scale == 1.0 else self._scaled(optimizer)

    @contextmanager
    def _scaled(self, optimizer) -> Iterator[None]:
        saved = [group["lr"] for group in optimizer.param_groups]
        for group in optimizer.param_groups:
            group["lr"] *= self.lr_scale
        try:
            yield
        finally:
            for group, lr in zip(optimizer.param_groups, saved):
                group["lr"] = lr

    # -- checkpoints ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The steerable settings as they are now (the parts' own states hold the rest)."""
        p = self.parts
        dropouts = self._dropouts()
        return {"lr_scale": self.lr_scale, "clip_enabled": p.clip.enabled, "clip_threshold": p.clip.threshold,
                "dropout": dropouts[0].p if dropouts else None, "patience": p.early.patience,
                "sgd_decay": p.optim.sgd_decoupled[1] if p.optim.sgd_decoupled is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        p = self.parts
        self.lr_scale = state["lr_scale"]
        p.clip.enabled, p.clip.threshold = state["clip_enabled"], state["clip_threshold"]
        for module in self._dropouts():
            if state["dropout"] is not None:
                module.p = state["dropout"]
        p.early.patience = state["patience"]
        if state["sgd_decay"] is not None and p.optim.sgd_decoupled is not None:
            p.optim.sgd_decoupled = (p.optim.sgd_decoupled[0], state["sgd_decay"])
