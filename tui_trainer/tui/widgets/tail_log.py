"""A log that shows its newest lines and never changes size."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget

LOG_LINES = 1000


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
            more = Text(f" {self.back} newer lines: End or scroll down ",
                        style=self._base + self.get_component_rich_style("taillog--more", partial=True))
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
