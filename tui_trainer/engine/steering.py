"""Steering a live run: settings that may change while it trains, at a step boundary.

Each setting belongs to the part that owns it, which declares it as a knob (see :mod:`.knobs`):
the optimizer's ``lr_scale`` and ``weight_decay`` (and ``lr_times``), the clipper's ``clip``, the
model's ``dropout`` and early stopping's ``patience`` (and ``patience_by``). :class:`Steering`
is the registry: it routes each knob of a request to its part and records what was applied.

A request that makes no sense (``lr_scale`` 0, dropout on a model without any) is refused with
the reason and changes nothing, not even its other knobs. Each applied one is an
:class:`~.events.Intervention` event with its step. The steered values travel in ``last.pt``,
each in its part's state; the interventions recorded after the checkpoint are replayed by a
resume at the same steps, so a resumed run stays exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .events import Intervention
from .knobs import Refused, Steerable

if TYPE_CHECKING:
    from .control import Control


class Steering:
    """The knobs of a run's steerable parts, by name."""

    def __init__(self, parts: Iterable[Steerable]):
        self.parts = {knob: part for part in parts for knob in part.KNOBS}
        self.replay: list[Intervention] = []  # from the run's record after its checkpoint (a resume), oldest first

    @property
    def knobs(self) -> list[str]:
        return list(self.parts)

    def due(self, step: int) -> list[Intervention]:
        """The recorded interventions to replay before step ``step + 1``."""
        out = []
        while self.replay and self.replay[0].step <= step:
            out.append(self.replay.pop(0))
        return out

    def resolve(self, changes: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The absolute changes a request asks for, or None and why it makes no sense."""
        unknown = [k for k in changes if k not in self.parts]
        if unknown:
            return None, (f"unknown setting {', '.join(unknown)}; these can change while a run trains: "
                          f"{', '.join(self.knobs)}")
        out: dict[str, Any] = {}
        for knob, value in changes.items():
            try:
                name, absolute = self.parts[knob].resolve(knob, value)
            except Refused as why:
                return None, str(why)
            out[name] = absolute
        if not out:
            return None, "nothing to change"
        return out, ""

    def apply(self, changes: dict[str, Any]) -> None:
        """Set the (resolved) values, each through the part that owns it."""
        for knob, value in changes.items():
            self.parts[knob].apply(knob, value)

    def at_boundary(self, control: Control, step: int, epoch: int) -> list[Intervention]:
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
