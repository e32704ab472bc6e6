"""The arithmetic of the live curves, free of Textual: bounded whole-run series, fitting
them to a width, and block-character sparkline rows on a linear or log scale."""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

#: Points a curve keeps. When full, neighbouring points merge, so a curve always covers
#: the whole run at a bounded cost.
CAPACITY = 512
BARS = " ▁▂▃▄▅▆▇█"


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _reducer(kind: str) -> Callable[[Sequence[float]], float]:
    """Mean or max of a group of points; a non-finite point wins, so a divergence shows."""
    base = _mean if kind == "mean" else max

    def reduce(values: Sequence[float]) -> float:
        for v in values:
            if not _finite(v):
                return v
        return base(values)

    return reduce


class Series:
    """One curve of a whole run in bounded memory. Each point stands for ``stride``
    consecutive values, merged by mean (losses, LR) or max (gradient norms: spikes stay
    visible); when ``capacity`` points are held, pairs merge and the stride doubles."""

    def __init__(self, reduce: str = "mean", capacity: int = CAPACITY):
        self.reduce = _reducer(reduce)
        self.capacity = capacity
        self.clear()

    def clear(self) -> None:
        self.points: list[float] = []
        self.pending: list[float] = []
        self.stride = 1
        self.count = 0  # values received

    def extend(self, values: Iterable[float]) -> None:
        for v in values:
            self.count += 1
            self.pending.append(v)
            if len(self.pending) >= self.stride:
                self.points.append(self.reduce(self.pending))
                self.pending = []
                if len(self.points) >= self.capacity:
                    self.points = [self.reduce(self.points[i:i + 2]) for i in range(0, len(self.points), 2)]
                    self.stride *= 2

    def values(self) -> list[float]:
        return self.points + ([self.reduce(self.pending)] if self.pending else [])

    def __len__(self) -> int:
        return len(self.points) + (1 if self.pending else 0)


def columns(values: Sequence[float], width: int, reduce: Callable[[Sequence[float]], float]) -> list[float]:
    """``values`` fitted to ``width`` columns: grouped when there are more, stretched when fewer."""
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if n >= width:
        return [reduce(values[c * n // width:(c + 1) * n // width]) for c in range(width)]
    return [values[c * n // width] for c in range(width)]


def spark_rows(values: Sequence[float], rows: int,
               log: bool = False) -> tuple[list[str], float | None, float | None, bool]:
    """Block-character rows (top first) for one value a column, scaled to the finite
    range, on a log scale when ``log`` and every finite value is positive; a non-finite
    value is drawn as ``!`` on every row. Returns (rows, low, high, log scale used)."""
    finite = [v for v in values if _finite(v)]
    lo = min(finite) if finite else None
    hi = max(finite) if finite else None
    log = log and lo is not None and lo > 0
    scale = math.log if log else float
    levels = 8 * rows
    heights = []
    for v in values:
        if not _finite(v):
            heights.append(-1)
        elif hi == lo:
            heights.append(levels // 2)
        else:
            heights.append(1 + round((scale(v) - scale(lo)) / (scale(hi) - scale(lo)) * (levels - 1)))
    out = []
    for r in range(rows - 1, -1, -1):
        out.append("".join("!" if h < 0 else BARS[max(0, min(8, h - 8 * r))] for h in heights))
    return out, lo, hi, log


def short(value: float | None) -> str:
    """Two significant digits, for a curve's range."""
    if value is None:
        return "-"
    if not _finite(value):
        return str(value)
    return f"{value:.2g}"


def range_label(low: float | None, high: float | None, log: bool) -> str:
    """``0.0043–2.1 log``: the finite range a curve is drawn over, and its scale."""
    if low is None:
        return ""
    return f"{short(low)}–{short(high)}{' log' if log else ''}"
