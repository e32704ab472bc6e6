"""The live view of a run: status, progress, curves of the whole run, and a log.

It is fed engine events in batches by the app's 10 Hz timer (:meth:`Monitor.feed`), never
one message per step. The UI thread shares the GIL with the training thread, so every
millisecond spent drawing here is taken from training (measured: a UI busy a quarter of
the time cost a third of the throughput). Hence two line-API widgets that keep their
rendered lines and redraw only the lines that changed, at fixed sizes, so that no update
ever re-lays out the screen (a layout costs ~35-100 ms here; Textual's ``RichLog`` asks
for one on every write, ``Sparkline`` and ``ProgressBar`` cost milliseconds a frame).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ..display import duration, fmt
from ..engine.events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    RunEnded,
    RunStarted,
    RunWarning,
    StepsSkipped,
    StepStats,
)

#: Points a curve keeps. When full, neighbouring points merge, so a curve always covers
#: the whole run at a bounded cost.
CAPACITY = 512
#: Curves are redrawn at most this often; the numbers at every drain.
CURVE_SECONDS = 0.3
CURVE_ROWS = 2
LOG_LINES = 1000
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


def spark_rows(values: Sequence[float], rows: int, log: bool = False) -> tuple[list[str], float | None, float | None, bool]:
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


def _short(value: float | None) -> str:
    if value is None:
        return "-"
    if not _finite(value):
        return str(value)
    return f"{value:.2g}"


class Curve:
    def __init__(self, name: str, title: str, reduce: str, log: bool = False):
        self.name, self.title, self.log = name, title, log
        self.series = Series(reduce)
        self.label = title
        self.marker: float | None = None  # a reference value shown beside the range (the clip threshold)


class LiveView(Widget):
    """Status, progress and the curves, drawn with the line API: each line is a cached
    :class:`Strip` rebuilt only when its content changes, and only changed lines are refreshed."""

    DEFAULT_CSS = """
    LiveView { height: 13; }
    LiveView > .liveview--curve { color: $accent; }
    LiveView > .liveview--bad { color: $error; text-style: bold; }
    LiveView > .liveview--dim { color: $text-muted; }
    LiveView > .liveview--bar { color: $success; }
    LiveView > .liveview--bar-back { color: $surface-lighten-2; }
    """
    COMPONENT_CLASSES = {"liveview--curve", "liveview--bad", "liveview--dim", "liveview--bar", "liveview--bar-back"}

    STATUS_ROWS = 2

    def __init__(self, curves: list[Curve], **kwargs: Any):
        super().__init__(**kwargs)
        self.curves = curves
        self.status: list[str] = []
        self.progress: float | None = None
        self.progress_text = ""
        self._lines: list[Strip] = []
        self._width = -1
        self._shown: dict[Any, Any] = {}  # line -> what it shows, to skip unchanged lines
        self._styles: dict[str, Style] = {}

    @property
    def line_count(self) -> int:
        return self.STATUS_ROWS + 1 + CURVE_ROWS * len(self.curves)

    def on_resize(self, event: events.Resize) -> None:
        self._width = -1
        self.refresh()

    def label_width(self, width: int) -> int:
        return max(16, min(24, int(width * 0.35)))

    # -- building lines ---------------------------------------------------------------------

    def show(self, status: list[str], progress: float | None, progress_text: str, curves: Iterable[str] | None) -> None:
        """Set the status (markup parts, most important first) and progress, and redraw the curves named in ``curves`` (``None``: only
        their labels). Refreshes the lines that changed."""
        self.status, self.progress, self.progress_text = status, progress, progress_text
        if self._width < 0:  # not drawn yet at this size: render_line builds everything
            self.refresh()
            return
        changed = set(self._build_status()) | set(self._build_progress())
        redraw = set(curves or ())
        for i, curve in enumerate(self.curves):
            changed |= set(self._build_curve(i, curve, curve.name in redraw))
        if changed:  # only the lines that changed: the compositor's work follows the area
            self.refresh(*(Region(0, y, self._width, 1) for y in sorted(changed)))

    def _set(self, y: int, key: Any, build: Callable[[], Strip]) -> list[int]:
        if self._shown.get(y) == key:
            return []
        self._shown[y] = key
        self._lines[y] = build()
        return [y]

    def _style(self, name: str = "") -> Style:
        """The widget's style, or a component's on top of it; cached until the size or theme changes."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style = style + self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def _strip(self, text: Text) -> Strip:
        text.no_wrap = True
        text.overflow = "crop"
        segments = list(text.render(self.app.console))
        return Strip(segments).adjust_cell_length(self._width, self._style())

    def _build_status(self) -> list[int]:
        base = self._style()
        lines: list[Text] = []
        for part in self.status:  # whole parts, packed into the rows; what does not fit is left out
            text = Text.from_markup(part, style=base)
            if lines and lines[-1].cell_len + 2 + text.cell_len <= self._width:
                lines[-1].append("  ")
                lines[-1].append_text(text)
            elif len(lines) < self.STATUS_ROWS:
                lines.append(text)
        changed = []
        for row in range(self.STATUS_ROWS):
            line = lines[row] if row < len(lines) else Text(style=base)
            changed += self._set(row, ("status", line.plain, self._width), lambda line=line: self._strip(line))
        return changed

    def _build_progress(self) -> list[int]:
        y = self.STATUS_ROWS
        width = self._width
        text = f" {self.progress_text}" if self.progress_text else ""
        bar_width = max(1, width - len(text))
        filled = None if self.progress is None else round(max(0.0, min(1.0, self.progress)) * bar_width * 2)
        return self._set(y, ("progress", filled, text, width), lambda: self._progress_strip(filled, bar_width, text))

    def _progress_strip(self, halves: int | None, bar_width: int, text: str) -> Strip:
        base, bar, back = self._style(), self._style("liveview--bar"), self._style("liveview--bar-back")
        halves = halves or 0
        full, half = divmod(halves, 2)
        segments = [Segment("━" * full, bar)]
        if half:
            segments.append(Segment("╸", bar))
        segments.append(Segment("━" * (bar_width - full - half), back))
        segments.append(Segment(text, base))
        return Strip(segments).adjust_cell_length(self._width, base)

    def _build_curve(self, index: int, curve: Curve, redraw: bool) -> list[int]:
        top = self.STATUS_ROWS + 1 + CURVE_ROWS * index
        label_width = self.label_width(self._width)
        spark_width = max(0, self._width - label_width)
        if redraw or ("spark", index) not in self._shown:
            self._shown[("spark", index)] = self._spark(curve, spark_width)
        rows, lo, hi, log = self._shown[("spark", index)]
        second = f"{_short(lo)}–{_short(hi)}{' log' if log else ''}" if lo is not None else ""
        texts = [curve.label + (f" ≤{curve.marker:g}" if curve.marker is not None else ""), second]
        changed = []
        for r in range(CURVE_ROWS):
            label = texts[r] if r < len(texts) else ""
            row = rows[r] if r < len(rows) else ""
            changed += self._set(top + r, (label, row, label_width),
                                 lambda label=label, row=row, dim=r > 0: self._curve_strip(label, row, label_width, dim))
        return changed

    def _spark(self, curve: Curve, width: int) -> tuple[list[str], float | None, float | None, bool]:
        values = columns(curve.series.values(), width, curve.series.reduce)
        return spark_rows(values, CURVE_ROWS, curve.log)

    def _curve_strip(self, label: str, row: str, label_width: int, dim: bool) -> Strip:
        base, style, bad = self._style(), self._style("liveview--curve"), self._style("liveview--bad")
        label_style = self._style("liveview--dim") if dim else base
        segments = [Segment(label[:label_width - 1].ljust(label_width), label_style)]
        if "!" in row:  # non-finite points in the error colour
            segments += [Segment(ch, bad if ch == "!" else style) for ch in row]
        else:
            segments.append(Segment(row, style))
        return Strip(segments).adjust_cell_length(self._width, base)

    def _build_all(self, width: int) -> None:
        self._width = width
        self._styles = {}
        self._lines = [Strip.blank(width, self._style()) for _ in range(self.line_count)]
        self._shown = {}
        self._build_status()
        self._build_progress()
        for i, curve in enumerate(self.curves):
            self._build_curve(i, curve, True)

    def plain_lines(self) -> list[str]:
        """The text of each line as drawn (for tests and bug reports)."""
        return [line.text for line in self._lines]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._width:
            self._build_all(width)
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)

    def notify_style_update(self) -> None:  # the theme changed: rebuild every line
        super().notify_style_update()
        self._width = -1


class TailLog(Widget, can_focus=True):
    """A log that shows its newest lines and never changes size, so a write refreshes
    its own lines only (``RichLog`` re-lays out the whole screen on every write).
    Scroll back with the wheel or, focused, the arrow and page keys; End follows again."""

    BINDINGS = [
        Binding("up", "back(1)", "Older", show=False),
        Binding("down", "back(-1)", "Newer", show=False),
        Binding("pageup", "page(1)", "Page up", show=False),
        Binding("pagedown", "page(-1)", "Page down", show=False),
        Binding("home", "back(1000000)", "Oldest", show=False),
        Binding("end", "follow", "Follow", show=False),
    ]
    DEFAULT_CSS = """
    TailLog > .taillog--more { color: $text-muted; text-style: reverse; }
    """
    COMPONENT_CLASSES = {"taillog--more"}

    def __init__(self, max_lines: int = LOG_LINES, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_lines = max_lines
        self.texts: list[Text] = []
        self._wrapped: list[Strip] = []
        self._counts: list[int] = []  # wrapped lines per text
        self._width = -1
        self.back = 0  # lines scrolled back from the newest
        self._base = Style()

    @property
    def plain_lines(self) -> list[str]:
        return [t.plain for t in self.texts]

    def write(self, markup: str) -> None:
        text = Text.from_markup(markup)
        self.texts.append(text)
        if self._width > 0:
            strips = self._wrap(text)
            self._wrapped.extend(strips)
            self._counts.append(len(strips))
            if self.back:
                self.back += len(strips)  # keep a scrolled-back view still
        if len(self.texts) > self.max_lines:
            del self.texts[0]
            if self._counts:
                drop = self._counts.pop(0)
                del self._wrapped[:drop]
        self.back = min(self.back, self._max_back())
        self.refresh()

    def _wrap(self, text: Text) -> list[Strip]:
        console = self.app.console
        base = self._base
        out = []
        for line in text.wrap(console, max(1, self._width)) or [Text("")]:
            line.stylize(base, 0, len(line))
            styled = Text(style=base)
            styled.append_text(line)
            out.append(Strip(list(styled.render(console))).adjust_cell_length(self._width, base))
        return out

    def _rewrap(self, width: int) -> None:
        self._width = width
        self._base = self.rich_style
        self._wrapped, self._counts = [], []
        for text in self.texts:
            strips = self._wrap(text)
            self._wrapped.extend(strips)
            self._counts.append(len(strips))
        self.back = min(self.back, self._max_back())

    def _max_back(self) -> int:
        return max(0, len(self._wrapped) - max(1, self.size.height))

    def on_resize(self, event: events.Resize) -> None:
        self._width = -1
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._width = -1

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if width != self._width:
            self._rewrap(width)
        end = len(self._wrapped) - self.back
        start = max(0, end - (height - 1 if self.back else height))  # the last row says what is below
        if self.back and y == height - 1:
            more = Text(f" {self.back} newer lines: End or scroll down ", style=self._base + self.get_component_rich_style("taillog--more", partial=True))
            return Strip(list(more.render(self.app.console))).adjust_cell_length(width, self._base)
        i = start + y
        if i < end:
            return self._wrapped[i]
        return Strip.blank(width, self._base)

    def scroll_back(self, lines: int) -> None:
        back = max(0, min(self._max_back(), self.back + lines))
        if back != self.back:
            self.back = back
            self.refresh()

    def action_back(self, lines: int) -> None:
        self.scroll_back(lines)

    def action_page(self, pages: int) -> None:
        self.scroll_back(pages * max(1, self.size.height - 1))

    def action_follow(self) -> None:
        self.scroll_back(-self.back)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_back(3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_back(-3)


class Monitor(Vertical):
    """Turns engine events into what :class:`LiveView` and :class:`TailLog` show."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.curves = {
            "loss": Curve("loss", "loss", "mean", log=True),
            "val_loss": Curve("val_loss", "val loss", "mean", log=True),
            "lr": Curve("lr", "lr", "mean"),
            "grad_norm": Curve("grad_norm", "|g|", "max", log=True),
            "patience": Curve("patience", "patience", "max"),
        }
        self.dirty: set[str] = set()  # curves with new points since the last redraw
        self.redraws = 0
        self._curves_drawn = 0.0
        self._reset_state()

    def _reset_state(self) -> None:
        for curve in self.curves.values():
            curve.series.clear()
            curve.marker = None
        self.dirty = set(self.curves)
        self.started: RunStarted | None = None
        self.last_step: StepStats | None = None
        self.last_epoch: EpochEnded | None = None
        self.last_es: EarlyStoppingState | None = None
        self.ended: RunEnded | None = None
        self.steps_done = 0
        self.paused = False

    def series(self, name: str) -> Series:
        return self.curves[name].series

    def compose(self) -> ComposeResult:
        yield LiveView(list(self.curves.values()), id="live")
        yield TailLog(id="run-log")

    @property
    def live(self) -> LiveView:
        return self.query_one(LiveView)

    @property
    def log_view(self) -> TailLog:
        return self.query_one(TailLog)

    def on_mount(self) -> None:
        self.redraw(force=True)

    # -- feeding -------------------------------------------------------------------------

    def feed(self, events: Iterable[Any]) -> None:
        """Apply a batch of events, then redraw once."""
        log = self.log_view
        changed = False
        for event in events:
            changed = True
            if isinstance(event, RunStarted):
                if event.start_step and self.started is not None:  # a resume, in the same metrics.jsonl
                    self.ended, self.paused = None, False
                    log.write(f"[b]resumed[/] after step {event.start_step} (epoch {event.start_epoch + 1})")
                else:
                    self._reset_state()
                    self.steps_done = event.start_step
                self.started = event
                self.curves["grad_norm"].marker = event.clip_threshold
                log.write(f"[b]started[/] {event.preset}: {event.parameters:,} parameters on {event.device} ({event.precision}), "
                          f"tricks: {', '.join(event.tricks) or 'none'}")
                if event.run_dir:
                    log.write(f"run folder {event.run_dir}")
            elif isinstance(event, StepStats):
                self.last_step = event
                self.series("loss").extend(event.losses)
                self.series("lr").extend(event.lrs)
                self.series("grad_norm").extend(event.grad_norms)
                self.dirty.update(("loss", "lr", "grad_norm"))
                self.steps_done += len(event.losses)
            elif isinstance(event, EpochEnded):
                self.last_epoch = event
                self.series("val_loss").extend([event.val_loss])
                self.dirty.add("val_loss")
                total = self.started.epochs if self.started else "?"
                log.write(f"epoch {event.epoch}/{total}  train {event.train_loss:.4f}  val {event.val_loss:.4f}  "
                          f"acc {event.val_accuracy:.4f}  lr {event.lr:.2e}  {event.samples_per_second:,.0f}/s")
            elif isinstance(event, EarlyStoppingState):
                self.last_es = event
                self.series("patience").extend([float(event.wait)])
                self.dirty.add("patience")
            elif isinstance(event, RunWarning):
                log.write(f"[yellow]warning:[/] {event.message}")
            elif isinstance(event, StepsSkipped):
                log.write(f"[yellow]{event.describe()}[/]")
            elif isinstance(event, CheckpointSaved):
                pass
            elif isinstance(event, RunEnded):
                self.ended = event
                s = event.summary
                color = {"completed": "green", "early_stopped": "green", "stopped": "yellow"}.get(event.status, "red")
                log.write(f"[b {color}]{event.status}[/]: {event.reason}")
                if s.get("test_accuracy") is not None:
                    log.write(f"test accuracy {s['test_accuracy']:.4f} ({s.get('weights')} weights, best epoch "
                              f"{s.get('best_epoch')}), {s.get('train_samples_per_second', 0):,.0f} samples/s, "
                              f"{duration(s.get('wall_seconds', 0))}")
        if changed:
            self.redraw()

    def write_log(self, text: str) -> None:
        self.log_view.write(text)

    # -- drawing -------------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> None:
        self.redraws += 1
        now = time.monotonic()
        curves: set[str] | None = None
        if force or self.ended is not None or now - self._curves_drawn >= CURVE_SECONDS:
            self._curves_drawn = now
            curves, self.dirty = self.dirty, set()
        step, epoch, es = self.last_step, self.last_epoch, self.last_es
        labels = {
            "loss": f"loss {fmt(step.losses[-1] if step else None)}",
            "val_loss": f"val {fmt(epoch.val_loss if epoch else None)}",
            "lr": f"lr {fmt(step.lrs[-1] if step else None, '.2e')}",
            "grad_norm": f"|g| {fmt(step.grad_norms[-1] if step else None, '.3g')}",
            "patience": "patience",
        }
        if es is not None:
            labels["patience"] = f"wait {es.wait}/{es.patience} best {es.best_epoch}" if es.enabled else f"best ep {es.best_epoch}"
        for name, text in labels.items():
            self.curves[name].label = text
        progress, progress_text = None, ""
        if self.started is not None:
            total = self.started.epochs * self.started.steps_per_epoch
            progress = self.steps_done / total if total else 0.0
            progress_text = f"{progress:4.0%}"
        self.live.show(self.status_parts(), progress, progress_text, curves)

    def status_parts(self) -> list[str]:
        started, step, epoch = self.started, self.last_step, self.last_epoch
        if started is None:
            return ["no run yet: press s to start"]
        total_steps = started.epochs * started.steps_per_epoch
        rate = step.samples_per_second if step else 0.0
        remaining = (total_steps - self.steps_done) * started.batch_size / rate if rate > 0 else None
        state = "paused" if self.paused else (self.ended.status if self.ended else "training")
        ep = (step.epoch + 1) if step else started.start_epoch + 1
        in_epoch = step.step_in_epoch if step else 0
        parts = [
            f"[b]{state}[/]",
            f"epoch {ep}/{started.epochs}",
            f"step {in_epoch}/{started.steps_per_epoch}",
            f"{rate:,.0f}/s",
            f"ETA {duration(remaining)}" if remaining is not None and not self.ended else "",
            f"val acc {fmt(epoch.val_accuracy, '.3f')}" if epoch else "",
            f"{started.device} {started.precision}",
        ]
        return [p for p in parts if p]
