"""The Runs view of the app (key ``r``): past runs, their curves overlaid, and ablations.

Select runs with space (or enter) to overlay one of their curves; ``m`` switches the
curve. ``a`` starts an ablation of the current settings (every trick switched alone, on
the seeds given) in a background thread; its table fills in as each run ends, and ``x``
stops it after the current run.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from .. import ablate as ab
from ..display import duration, fmt
from ..runs.catalog import SHORT, RunInfo, read_curves, scan_runs

PALETTE = ["#4ea1ff", "#ff7f50", "#7ccf3a", "#e6c229", "#d070d0", "#40d0c0", "#ff5c8a", "#a0a0ff"]
METRICS = [  # (key, title, log scale)
    ("val_loss", "validation loss per epoch", True),
    ("loss", "training loss (mean per column)", True),
    ("lr", "learning rate", False),
    ("grad_norm", "gradient norm before clipping (max per column)", True),
]
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille dot bits by (row, column)


def series_of(run: RunInfo, metric: str) -> list[tuple[float, float]]:
    """(epoch, value) points of one curve of a run; steps are placed at fractional epochs."""
    try:
        curves = read_curves(run)
    except Exception:
        return []
    if metric == "val_loss":
        return [(float(e.epoch), e.val_loss) for e in curves.epochs]
    spe = curves.steps_per_epoch or 1
    values = {"loss": curves.loss, "lr": curves.lr, "grad_norm": curves.grad_norm}[metric]
    return [(s / spe, v) for s, v in zip(curves.steps, values)]


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


class OverlayPlot(Widget):
    """The selected runs' curves of one metric on shared axes, one colour a run."""

    DEFAULT_CSS = "OverlayPlot { height: 1fr; min-height: 6; }"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.runs: list[RunInfo] = []
        self.metric = 0
        self._cache: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def set_runs(self, runs: list[RunInfo]) -> None:
        self.runs = runs
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
        key, title, log = METRICS[self.metric]
        width, height = self.size.width, self.size.height
        text = Text(f"{title}{' (log scale)' if log else ''}   m: next curve\n", style="bold")
        if not self.runs:
            text.append("select runs with space to overlay their curves", style="dim")
            return text
        gutter = 9
        legend_rows = min(len(self.runs), 4)
        plot_h = max(1, height - 3 - legend_rows)
        series = [self._series(r, key) for r in self.runs]
        grid, ranges = braille_plot(series, max(2, width - gutter), plot_h, log, "max" if key == "grad_norm" else "mean")
        if ranges is None:
            text.append("no finite values to draw", style="dim")
            return text
        x0, x1, y0, y1 = ranges
        label = (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.3g}")
        for row, cells in enumerate(grid):
            side = label(y1) if row == 0 else label(y0) if row == plot_h - 1 else ""
            text.append(side.rjust(gutter - 1)[: gutter - 1] + " ", style="dim")
            for bits, index in cells:
                text.append(chr(0x2800 + bits) if bits else " ", style=PALETTE[index % len(PALETTE)] if index >= 0 else None)
            text.append("\n")
        text.append(" " * gutter + f"epoch {x0:g}".ljust(max(0, width - gutter - 8)) + f"{x1:g}\n", style="dim")
        for i, run in enumerate(self.runs[:legend_rows]):
            text.append("━━ ", style=PALETTE[i % len(PALETTE)])
            text.append(f"{run.id} ({run.status})"[: max(0, width - 4)] + "\n")
        if len(self.runs) > legend_rows:
            text.append(f"   and {len(self.runs) - legend_rows} more", style="dim")
        return text


class RunsScreen(Screen):
    BINDINGS = [
        Binding("escape,r", "back", "Back to training"),
        Binding("space", "toggle", "Select", show=True),
        Binding("m", "metric", "Next curve"),
        Binding("a", "ablate", "Ablate"),
        Binding("x", "stop_ablation", "Stop"),
        Binding("f5", "reload", "Reload"),
    ]
    CSS = """
    #runs-left { width: 1fr; }
    #runs-right { width: 1fr; border-left: solid $primary-background; padding: 0 1; }
    #runs-table { height: 1fr; }
    #ablate-row { height: 1; }
    #ablate-row Label { width: auto; padding-right: 1; }
    #ablate-seeds { width: 6; }
    #ablation-table { height: auto; max-height: 12; }
    #ablation-status { height: auto; color: $text-muted; }
    """

    def __init__(self, runs_dir: Path):
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.runs: list[RunInfo] = []
        self.selected: set[str] = set()
        self.ablation: ab.Ablation | None = None
        self.ablation_stop = threading.Event()
        self.ablating = False
        self._control = None  # the Control of the ablation's current run

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="runs-left"):
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="ablate-row"):
                    yield Label("a: ablate the current settings on")
                    yield Input("2", id="ablate-seeds", type="integer", compact=True)
                    yield Label("seeds")
                yield DataTable(id="ablation-table", cursor_type="none")
                yield Static("", id="ablation-status")
            with Vertical(id="runs-right"):
                yield OverlayPlot(id="overlay")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.add_columns("", "id", "preset", "tricks", "status", "best val", "test acc", "time")
        ablation = self.query_one("#ablation-table", DataTable)
        ablation.add_columns("variant", *[h for h, _, _ in ab.COLUMNS], "diverged")
        ablation.display = False  # shown once an ablation starts: the runs get the room until then
        self.action_reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        current = self.runs[table.cursor_row].path if self.runs and 0 <= table.cursor_row < len(self.runs) else None
        self.runs = list(reversed(scan_runs(self.runs_dir)))  # newest first
        table.clear()
        for run in self.runs:
            table.add_row(*self._row(run), key=str(run.path))
        paths = [r.path for r in self.runs]
        if current in paths:  # the cursor stays on the run it was on
            table.move_cursor(row=paths.index(current), animate=False)
        if not self.runs:
            self.query_one("#ablation-status", Static).update(f"no runs in {self.runs_dir} yet")
        self._overlay()

    def _row(self, run: RunInfo) -> list[str]:
        mark = "●" if str(run.path) in self.selected else " "
        return [mark, run.id, run.preset, " ".join(SHORT.get(t, t) for t in run.tricks) or "-", run.status,
                fmt(run.summary.get("best_val_loss")), fmt(run.summary.get("test_accuracy")), duration(run.summary.get("wall_seconds"))]

    def action_toggle(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row is None or table.cursor_row >= len(self.runs):
            return
        run = self.runs[table.cursor_row]
        key = str(run.path)
        self.selected.symmetric_difference_update({key})
        table.update_cell(key, table.ordered_columns[0].key, "●" if key in self.selected else " ")
        self._overlay()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs-table":
            self.action_toggle()

    def _overlay(self) -> None:
        self.query_one(OverlayPlot).set_runs([r for r in self.runs if str(r.path) in self.selected])

    def action_metric(self) -> None:
        self.query_one(OverlayPlot).next_metric()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- ablation ---------------------------------------------------------------------------

    def action_ablate(self) -> None:
        app = self.app
        if self.ablating:
            self.notify("an ablation is running: x stops it", severity="warning")
            return
        if app.running:
            self.notify("a training run is going: stop it first", severity="warning")
            return
        if app.settings_errors():
            self.notify("fix the highlighted settings first", severity="error")
            return
        try:
            seeds = int(self.query_one("#ablate-seeds", Input).value or "0")
        except ValueError:
            seeds = 0
        if not 1 <= seeds <= 20:
            self.notify("seeds: give a number from 1 to 20", severity="error")
            return
        config = app.current_config()
        self.ablation_stop.clear()
        self.ablating = True
        self.query_one("#ablation-status", Static).update(f"ablating {config.name} on {seeds} seed(s)…")
        self.run_ablation(config, seeds)

    def action_stop_ablation(self) -> None:
        if not self.ablating:  # x stops a training run here too
            self.app.action_stop()
            return
        self.ablation_stop.set()
        if self._control is not None:
            self._control.stop("ablation stopped from the app")
        self.query_one("#ablation-status", Static).update("stopping after the current run…")

    @work(thread=True, exit_on_error=False, group="ablate")
    def run_ablation(self, config, seeds: int) -> None:
        from ..engine import Control

        def control() -> Control:
            self._control = Control()
            if self.ablation_stop.is_set():
                self._control.stop("stopped")
            return self._control

        try:
            plan = ab.plan(config, None, seeds, ab.why_not_here)
            self.ablation = plan
            self.app.call_from_thread(self._show_ablation)
            ab.run(plan, self.runs_dir, ab.local_trainer(control), lambda *_: self.app.call_from_thread(self._show_ablation),
                   should_stop=self.ablation_stop.is_set)
        except Exception as exc:
            self.app.call_from_thread(self.query_one("#ablation-status", Static).update, f"[red]ablation failed:[/] {exc}")
        finally:
            self.ablating = False
            self.app.call_from_thread(self._ablation_done)

    def _show_ablation(self) -> None:
        plan = self.ablation
        if plan is None:
            return
        table = self.query_one("#ablation-table", DataTable)
        table.display = True
        table.clear()
        for row in ab.rows(plan):
            table.add_row(*row)
        done = sum(len(v) for v in plan.results.values())
        total = len(plan.variants) * len(plan.seeds)
        skipped = "; ".join(f"not run: {t} ({why[:60]})" for t, why in plan.not_run)
        if done:
            self.action_reload()  # the finished runs appear in the list
        self.query_one("#ablation-status", Static).update(
            f"{plan.preset}: {done}/{total} runs, seeds {', '.join(map(str, plan.seeds))}. "
            f"Differences to the baseline of the same seed, mean ± std. {skipped}")

    def _ablation_done(self) -> None:
        self._show_ablation()
        if self.ablation is not None and self.ablation.folder is not None:
            status = self.query_one("#ablation-status", Static)
            status.update(f"{status.render()}\nruns in {self.ablation.folder}")
        self.action_reload()
