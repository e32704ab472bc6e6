"""How numbers and durations read on screen, the same in the CLI, the app and the runs tables."""

from __future__ import annotations

import math
from typing import Any


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
