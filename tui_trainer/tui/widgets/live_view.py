"""The live view's status, progress bar and curves, drawn with the line API.

Every millisecond spent drawing on the UI thread is taken from the training thread (they
share the GIL), so each line is a cached :class:`Strip` rebuilt only when what it shows
changes, only changed lines are refreshed, and the widget never changes size, so no update
re-lays out the screen (a layout costs ~35-100 ms here; ``Sparkline`` and ``ProgressBar``
cost milliseconds a frame).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ..curves import Series, columns, range_label, spark_rows
from ..markers import Markers, legend_width

CURVE_ROWS = 2
#: Under the curves, when the view has markers: the marker row, and its legend.
MARKER_ROWS = 2


MARK_KINDS = ("clip", "saved", "lr", "best", "skipped", "intervention", "doctor")  # the markers' kinds, each its style

class Curve:
    def __init__(self, name: str, title: str, reduce: str, log: bool = False):
        self.name, self.title, self.log = name, title, log
        self.series = Series(reduce)
        self.label = title
        self.marker: float | None = None  # a reference value shown beside the range (the clip threshold)


class LiveView(Widget):
    """Status, progress, the curves and (with ``markers``) the marker row and its legend, drawn
    with the line API: each line is a cached :class:`Strip` rebuilt only when its content
    changes, and only changed lines are refreshed. Its height is its line count."""

    DEFAULT_CSS = """
    LiveView > .liveview--curve { color: $accent; }
    LiveView > .liveview--bad { color: $error; text-style: bold; }
    LiveView > .liveview--dim { color: $text-muted; }
    LiveView > .liveview--bar { color: $success; }
    LiveView > .liveview--bar-back { color: $surface-lighten-2; }
    LiveView > .liveview--mark-clip { color: $warning 60%; }
    LiveView > .liveview--mark-saved { color: $text-muted; }
    LiveView > .liveview--mark-lr { color: $text-secondary; text-style: bold; }
    LiveView > .liveview--mark-best { color: $success; text-style: bold; }
    LiveView > .liveview--mark-skipped { color: $error; text-style: bold; }
    LiveView > .liveview--mark-intervention { color: magenta; text-style: bold; }
    LiveView > .liveview--mark-doctor { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES = {"liveview--curve", "liveview--bad", "liveview--dim", "liveview--bar", "liveview--bar-back",
                         *(f"liveview--mark-{kind}" for kind in MARK_KINDS)}

    STATUS_ROWS = 2

    def __init__(self, curves: list[Curve], markers: Markers | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.curves = curves
        self.markers = markers
        self.styles.height = self.line_count
        self.status: list[str] = []
        self.progress: float | None = None
        self.progress_text = ""
        self._lines: list[Strip] = []
        self._width = -1
        self._shown: dict[Any, Any] = {}  # line -> what it shows, to skip unchanged lines
        self._styles: dict[str, Style] = {}

    @property
    def line_count(self) -> int:
        return self.STATUS_ROWS + 1 + CURVE_ROWS * len(self.curves) + (MARKER_ROWS if self.markers is not None else 0)

    def on_resize(self, event: events.Resize) -> None:
        self._width = -1
        self.refresh()

    def label_width(self, width: int) -> int:
        return max(16, min(24, int(width * 0.35)))

    # -- building lines ---------------------------------------------------------------------

    def show(self, status: list[str], progress: float | None, progress_text: str, curves: Iterable[str] | None) -> None:
        """Set the status (markup parts, most important first) and progress, and redraw the curves named in
        ``curves`` (``None``: only their labels). Refreshes the lines that changed."""
        self.status, self.progress, self.progress_text = status, progress, progress_text
        if self._width < 0:  # not drawn yet at this size: render_line builds everything
            self.refresh()
            return
        changed = set(self._build_status()) | set(self._build_progress())
        redraw = set(curves or ())
        for i, curve in enumerate(self.curves):
            changed |= set(self._build_curve(i, curve, curve.name in redraw))
        if curves is not None:
            changed |= set(self._build_markers())
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
                style = style + self.get_component_rich_style(name)
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
        second = range_label(lo, hi, log)
        texts = [curve.label + (f" ≤{curve.marker:g}" if curve.marker is not None else ""), second]
        changed = []
        for r in range(CURVE_ROWS):
            label = texts[r] if r < len(texts) else ""
            row = rows[r] if r < len(rows) else ""
            changed += self._set(top + r, (label, row, label_width),
                                 lambda label=label, row=row,
                                 dim=r > 0: self._curve_strip(label, row, label_width, dim))
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

    def _build_markers(self) -> list[int]:
        """The marker row (its label: the clipped share) and the legend, under the curves."""
        if self.markers is None:
            return []
        top = self.STATUS_ROWS + 1 + CURVE_ROWS * len(self.curves)
        label_width = self.label_width(self._width)
        label, cells = self.markers.label(), self.markers.row(max(0, self._width - label_width))
        legend = self.markers.legend(self._width)
        return (self._set(top, ("markers", label, tuple(cells), label_width),
                          lambda: self._marker_strip(label, cells, label_width))
                + self._set(top + 1, ("legend", tuple(legend), self._width), lambda: self._legend_strip(legend)))

    def _marker_strip(self, label: str, cells: list[tuple[str, str]], label_width: int) -> Strip:
        base = self._style()
        segments = [Segment(label[:label_width - 1].ljust(label_width), base)]
        for char, kind in cells:  # runs of one kind share a segment
            style = self._style(f"liveview--mark-{kind}") if kind else base
            if segments and segments[-1].style is style and len(segments) > 1:
                segments[-1] = Segment(segments[-1].text + char, style)
            else:
                segments.append(Segment(char, style))
        return Strip(segments).adjust_cell_length(self._width, base)

    def _legend_strip(self, legend: list[tuple[str, str, str]]) -> Strip:
        dim = self._style("liveview--dim")
        gap = " " * (2 if legend_width(legend, 2) <= self._width else 1)
        segments = []
        for i, (glyph, kind, word) in enumerate(legend):
            segments += [Segment(glyph, self._style(f"liveview--mark-{kind}")),
                         Segment(f" {word}" + (gap if i < len(legend) - 1 else ""), dim)]
        return Strip(segments).crop(0, self._width).adjust_cell_length(self._width, self._style())

    def _build_all(self, width: int) -> None:
        self._width = width
        self._styles = {}
        self._lines = [Strip.blank(width, self._style()) for _ in range(self.line_count)]
        self._shown = {}
        self._build_status()
        self._build_progress()
        for i, curve in enumerate(self.curves):
            self._build_curve(i, curve, True)
        self._build_markers()

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
