"""How numbers, durations, statuses and epochs read on screen: the same in the CLI, the app
and the runs tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine.events import EpochEnded

#: The colour of a run's status; any other status (diverged, failed) is red.
STATUS_COLOURS = {"completed": "green", "early_stopped": "green", "stopped": "yellow"}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "red")


def epoch_line(event: "EpochEnded", epochs: int | str) -> str:
    """``epoch   3/30  train 0.4120  val 0.3904  acc 0.8825  lr 2.96e-03  10,512/s  0.4s``."""
    return (f"epoch {event.epoch:>3}/{epochs}  train {fmt(event.train_loss)}  val {fmt(event.val_loss)}  "
            f"acc {fmt(event.val_accuracy)}  lr {fmt(event.lr, '.2e')}  {event.samples_per_second:,.0f}/s  {event.seconds:.1f}s")


def fmt(value: Any, spec: str = ".4f") -> str:
    """A float with ``spec`` (``nan``/``inf`` as such), ``-`` for None, anything else as it is."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec) if math.isfinite(value) else str(value)
    return str(value)


def duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; ``-`` for None."""
    if seconds is None:
        return "-"
    m, s = divmod(max(0, int(round(seconds))), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
