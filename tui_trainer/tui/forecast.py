"""A run's test-period forecast against the actual values, in braille (2×4 dots a character)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from .braille import braille_plot

COLOURS = ("#a0a0a0", "#4ea1ff", "#ff7f50")  # actual, first step, last step


def forecast_text(forecast: dict[str, Any], width: int = 72, height: int = 8) -> Text:
    """The actual series of the test period (and a little before) in grey, the predictions at
    the first and the last step of the horizon in colour, with the value range and the dates."""
    actual = forecast["actual"]
    series = [[(float(i), float(v)) for i, v in enumerate(actual)]]
    names = ["actual"]
    for step, p in forecast["predicted"].items():
        series.append([(float(p["start"] + i), float(v)) for i, v in enumerate(p["values"])])
        names.append(f"{step} ahead")
        if step == "1" and forecast.get("horizon", 1) == 1:
            break
    gutter = 8
    grid, ranges = braille_plot(series, max(2, width - gutter), height, False)
    text = Text(f"forecast of {forecast.get('column') or 'the series'} on the test period\n", style="bold")
    if ranges is None:
        return text
    _, _, y0, y1 = ranges
    for row, cells in enumerate(grid):
        side = f"{y1:.4g}" if row == 0 else f"{y0:.4g}" if row == height - 1 else ""
        text.append(side.rjust(gutter - 1)[: gutter - 1] + " ", style="dim")
        for bits, index in cells:
            text.append(chr(0x2800 + bits) if bits else " ",
                        style=COLOURS[index % len(COLOURS)] if index >= 0 else None)
        text.append("\n")
    dates = forecast.get("dates") or []
    if dates:
        first, last = str(dates[0]), str(dates[-1])
        text.append(" " * gutter + first.ljust(max(1, width - gutter - len(last))) + last + "\n", style="dim")
    for i, name in enumerate(names):
        text.append("━━ ", style=COLOURS[i])
        text.append(name + "   ")
    return text
