"""Curves of several runs on shared axes, drawn with braille dots (2x4 a character), free of Textual."""

from __future__ import annotations

import math

DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille dot bits by (row, column)


def braille_plot(series: list[list[tuple[float, float]]], width: int, height: int, log: bool,
                 reduce: str = "mean") -> tuple[list[list[tuple[int, int]]], tuple[float, float, float, float] | None]:
    """Cells (bits, series index or -1) of a braille canvas with every series drawn as a
    line, and the (x0, x1, y0, y1) ranges; None when there is nothing finite to draw."""
    points = []
    for s in series:
        pts = [(x, y) for x, y in s if math.isfinite(y) and (not log or y > 0)]
        points.append([(x, math.log10(y) if log else y) for x, y in pts])
    allp = [p for s in points for p in s]
    grid = [[(0, -1) for _ in range(width)] for _ in range(height)]
    if not allp or width < 2 or height < 1:
        return grid, None
    x0, x1 = 0.0, max(p[0] for p in allp) or 1.0
    y0, y1 = min(p[1] for p in allp), max(p[1] for p in allp)
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    dw, dh = 2 * width, 4 * height

    def dot(dx: int, dy: int, index: int) -> None:
        if 0 <= dx < dw and 0 <= dy < dh:
            row, col = dy // 4, dx // 2
            bits, _ = grid[row][col]
            grid[row][col] = (bits | DOTS[dy % 4][dx % 2], index)

    for index, pts in enumerate(points):
        if not pts:
            continue
        columns: dict[int, list[float]] = {}  # many points a dot column: mean (or max), so the line stays readable
        for x, y in pts:
            columns.setdefault(min(dw - 1, int((x - x0) / (x1 - x0) * (dw - 1))), []).append(y)
        merged = sorted((c, (max(v) if reduce == "max" else sum(v) / len(v))) for c, v in columns.items())
        prev = None
        for c, y in merged:
            r = int(round((y1 - y) / (y1 - y0) * (dh - 1)))
            if prev is not None:
                pc, pr = prev
                steps = max(abs(c - pc), abs(r - pr), 1)
                for k in range(steps + 1):
                    dot(pc + round((c - pc) * k / steps), pr + round((r - pr) * k / steps), index)
            else:
                dot(c, r, index)
            prev = (c, r)
    return grid, (x0, x1, y0, y1)
