"""The LR finder (key ``l``): the range test on the current settings, its curve drawn in braille
as it grows, and its two suggestions; ``v`` or ``s`` applies one to ``train.lr`` (the screen
is dismissed with it), escape leaves the settings as they were."""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static

from ..braille import braille_plot

STEPS = 100


class LRCurve(Widget):
    """Smoothed loss against log(lr), with the suggestions marked under it."""

    DEFAULT_CSS = "LRCurve { height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.points: list[tuple[float, float]] = []  # (lr, smoothed loss)
        self.marks: dict[str, float] = {}

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        gutter = 8
        plot_h = max(1, height - 2)
        start = math.log10(self.points[0][0]) if self.points else 0.0
        series = [[(math.log10(lr) - start, y) for lr, y in self.points]]
        grid, ranges = braille_plot(series, max(2, width - gutter), plot_h, False)
        text = Text()
        if ranges is None:
            return Text("sweeping…", style="dim")
        x0, x1, y0, y1 = ranges
        cols = max(2, width - gutter)
        marks = {}
        for name, lr in self.marks.items():  # the column of each suggestion
            col = int((math.log10(lr) - math.log10(self.points[0][0]) - x0) / ((x1 - x0) or 1) * (cols - 1))
            marks[min(cols - 1, max(0, col))] = name[0]
        for row, cells in enumerate(grid):
            side = f"{y1:.3g}" if row == 0 else f"{y0:.3g}" if row == plot_h - 1 else ""
            text.append(side.rjust(gutter - 1)[: gutter - 1] + " ", style="dim")
            for col, (bits, _index) in enumerate(cells):
                style = "bold #7ccf3a" if col in marks else "#4ea1ff"
                text.append(chr(0x2800 + bits) if bits else ("┊" if col in marks else " "), style=style)
            text.append("\n")
        axis = [" "] * cols
        for col, letter in marks.items():
            axis[col] = letter
        text.append(" " * gutter + "".join(axis) + "\n", style="bold #7ccf3a")
        first, last = self.points[0][0], self.points[-1][0]
        text.append(" " * gutter + f"lr {first:.0e}".ljust(max(0, cols - 8)) + f"{last:.0e}", style="dim")
        return text


class LRFindScreen(ModalScreen[float | None]):
    BINDINGS = [
        Binding("v", "apply('valley')", "Use the valley"),
        Binding("s", "apply('steepest')", "Use the steepest"),
        Binding("escape,q", "dismiss(None)", "Close"),
    ]
    DEFAULT_CSS = """
    LRFindScreen { align: center middle; }
    #lr-box { width: 90%; height: 80%; border: round $primary; padding: 0 1; background: $surface; }
    #lr-text { height: auto; }
    """

    def __init__(self, job: Any):
        """``job``: the app's :class:`~..session.WorkerJob` of an LR range test, which the worker process runs."""
        super().__init__()
        self.job = job
        self.config = job.spec.config
        self.result = None
        self.failure = ""

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="lr-box"):
            yield Static(f"[b]LR range test[/] of {self.config.name}: {STEPS} steps from 1e-7 "
                         "to 10 on a copy of the model; the run is not touched", id="lr-title")
            yield LRCurve(id="lr-curve")
            yield Static("loading the data…", id="lr-text")
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.2, self.poll)

    def poll(self) -> None:
        """The points the worker sent so far; the suggestions once the sweep ended."""
        job, curve = self.job, self.query_one(LRCurve)
        points = job.progress or []  # (lr, smoothed loss) so far
        if len(points) != len(curve.points):
            if not curve.points:
                self.query_one("#lr-text", Static).update("sweeping…")
            curve.points = list(points)
            curve.refresh()
        if job.finished.is_set():
            self._timer.stop()
            self.result, self.failure = job.result, job.failure or ""
            self._show()

    def _show(self) -> None:
        text = self.query_one("#lr-text", Static)
        if self.failure or self.result is None:
            text.update(f"[red]the LR finder failed:[/] {self.failure}")
            return
        r, curve = self.result, self.query_one(LRCurve)
        curve.points = list(zip(r.lrs, r.smoothed))
        curve.marks = {name: getattr(r, name) for name in ("valley", "steepest") if getattr(r, name)}
        curve.refresh()
        lines = [f"{len(r.lrs)} steps; {r.stopped}. Current train.lr = {self.config.train.lr:g}"]
        for name, key in (("valley", "v"), ("steepest", "s")):
            value = getattr(r, name)
            lines.append(f"[b]{key}[/] {name} [b]{value:.3g}[/]: {r.how.get(name, '')}" if value else f"{name}: -")
        if r.how.get("note"):
            lines.append(r.how["note"])
        text.update("\n".join(lines))

    def action_apply(self, which: str) -> None:
        value = getattr(self.result, which, None) if self.result is not None else None
        if value is None:
            self.notify("no suggestion yet", severity="warning")
            return
        self.dismiss(float(f"{value:.3g}"))
