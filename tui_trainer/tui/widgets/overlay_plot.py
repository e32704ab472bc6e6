"""The selected runs' curves of one metric on shared axes, one colour a run."""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.widget import Widget

from ...errors import UserError
from ...runs.catalog import RunInfo, seed_groups
from ...runs.curves import read_curves
from ..braille import braille_plot

PALETTE = ["#4ea1ff", "#ff7f50", "#7ccf3a", "#e6c229", "#d070d0", "#40d0c0", "#ff5c8a", "#a0a0ff"]
METRICS = [  # (key, title, log scale)
    ("val_loss", "validation loss per epoch", True),
    ("loss", "training loss (mean per column)", True),
    ("lr", "learning rate", False),
    ("grad_norm", "gradient norm before clipping (max per column)", True),
]


def series_of(run: RunInfo, metric: str) -> list[tuple[float, float]]:
    """(epoch, value) points of one curve of a run; steps are placed at fractional epochs."""
    try:
        curves = read_curves(run)
    except (OSError, UserError):
        return []
    if metric == "val_loss":
        return [(float(e.epoch), e.val_loss) for e in curves.epochs]
    spe = curves.steps_per_epoch or 1
    values = {"loss": curves.loss, "lr": curves.lr, "grad_norm": curves.grad_norm}[metric]
    return [(s / spe, v) for s, v in zip(curves.steps, values)]


EMA = 0.9  # the smoothing of the training loss


def ema(points: list[tuple[float, float]], beta: float = EMA) -> list[tuple[float, float]]:
    """A bias-corrected exponential moving average of the values (non-finite ones pass through unsmoothed)."""
    out, avg, n = [], 0.0, 0
    for x, y in points:
        if not math.isfinite(y):
            out.append((x, y))
            continue
        n += 1
        avg = beta * avg + (1 - beta) * y
        out.append((x, avg / (1 - beta**n)))
    return out


class OverlayPlot(Widget):
    DEFAULT_CSS = "OverlayPlot { height: 1fr; min-height: 6; }"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.runs: list[RunInfo] = []
        self.metric = 0
        self._cache: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.log_scale: dict[str, bool] = {key: log for key, _, log in METRICS}  # per curve: o switches the shown one
        self.smooth = False  # e: an EMA over the training loss (never over the LR)
        self.empty = "select runs with space to overlay their curves"  # what shows with no runs

    def set_runs(self, runs: list[RunInfo]) -> None:
        self.runs = runs
        self.refresh()

    def toggle_log(self) -> None:
        key = METRICS[self.metric][0]
        self.log_scale[key] = not self.log_scale[key]
        self.refresh()

    def toggle_smooth(self) -> None:
        self.smooth = not self.smooth
        self.refresh()

    def next_metric(self) -> None:
        self.metric = (self.metric + 1) % len(METRICS)
        self.refresh()

    def _series(self, run: RunInfo, key: str) -> list[tuple[float, float]]:
        cache_key = (str(run.path), key)
        if cache_key not in self._cache or run.status == "running":
            self._cache[cache_key] = series_of(run, key)
        return self._cache[cache_key]

    def render(self) -> Text:
        key, title, _ = METRICS[self.metric]
        log, smooth = self.log_scale[key], self.smooth and key == "loss"
        width, height = self.size.width, self.size.height
        text = Text(f"{title}{' (log)' if log else ''}{f' (EMA {EMA})' if smooth else ''}  m: curve  o: log"
                    f"{'  e: smooth' if key == 'loss' else ''}\n", style="bold")
        if not self.runs:
            text.append(self.empty, style="dim")
            return text
        gutter = 9
        entries = self._entries(key, smooth)  # (legend, its series, their styles): a run, or runs over seeds as a band
        series = [s for _, group, _ in entries for s in group]
        styles = [st for _, _, group in entries for st in group]
        legend_rows = min(len(entries), 4)
        plot_h = max(1, height - 3 - legend_rows)
        grid, ranges = braille_plot(series, max(2, width - gutter), plot_h, log,
                                    "max" if key == "grad_norm" else "mean")
        if ranges is None:
            text.append("no finite values to draw", style="dim")
            return text
        x0, x1, y0, y1 = ranges
        label = (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.3g}")
        for row, cells in enumerate(grid):
            side = label(y1) if row == 0 else label(y0) if row == plot_h - 1 else ""
            text.append(side.rjust(gutter - 1)[: gutter - 1] + " ", style="dim")
            for bits, index in cells:
                text.append(chr(0x2800 + bits) if bits else " ", style=styles[index] if index >= 0 else None)
            text.append("\n")
        text.append(" " * gutter + f"epoch {x0:g}".ljust(max(0, width - gutter - 8)) + f"{x1:g}\n", style="dim")
        for legend, _, group_styles in entries[:legend_rows]:
            text.append("━━ ", style=group_styles[0])
            text.append(legend[: max(0, width - 4)] + "\n")
        if len(entries) > legend_rows:
            text.append(f"   and {len(entries) - legend_rows} more", style="dim")
        return text

    def _entries(self, key: str, smooth: bool) -> list[tuple[str, list[list[tuple[float, float]]], list[str]]]:
        """One entry a run; runs whose settings differ only in the seed as one: their mean, and
        their minimum and maximum drawn dim (the band)."""
        out = []
        for n, group in enumerate(seed_groups(self.runs)):
            color = PALETTE[n % len(PALETTE)]
            series = [ema(self._series(self.runs[i],
                                       key)) if smooth else self._series(self.runs[i], key) for i in group]
            if len(group) == 1:
                run = self.runs[group[0]]
                out.append((f"{run.id} ({run.status})", series, [color]))
                continue
            size = min(len(s) for s in series)
            columns = [[s[k][1] for s in series] for k in range(size)]
            xs = [series[0][k][0] for k in range(size)]
            mean = [(x, sum(c) / len(c)) for x, c in zip(xs, columns)]
            low, high = [(x, min(c)) for x, c in zip(xs, columns)], [(x, max(c)) for x, c in zip(xs, columns)]
            label = f"{self.runs[group[0]].preset} × {len(group)} seeds: mean, dim: min and max"
            out.append((label, [mean, low, high], [color, f"dim {color}", f"dim {color}"]))
        return out
