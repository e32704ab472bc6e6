"""The Data view (key ``d``): what the current settings train on, with one image per class
drawn in half-block characters beside its class name. The data is loaded on a worker thread
(downloading or decoding it on first use, with progress), so the app stays responsive."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ...config import Config


class DataScreen(Screen):
    BINDINGS = [Binding("escape,d", "back", "Back")]
    CSS = """
    #data-body { padding: 0 1; }
    """

    def __init__(self, config: Config):
        super().__init__()
        self.config = config
        self.loaded = None  # the Datasets, once read

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(f"reading {self.config.data.dataset}…", id="data-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        from ...data import load_data
        from ...errors import UserError

        def progress(label: str, done: int, total: int | None) -> None:
            text = f"{label} {done:,}/{total:,}" if total else label
            self.app.call_from_thread(self.body.update, text)

        try:
            datasets = load_data(self.config.data, "cpu", progress)
        except UserError as exc:
            self.app.call_from_thread(self.body.update, f"[red]{exc}[/]")
            return
        self.app.call_from_thread(self.show, datasets)

    @property
    def body(self) -> Static:
        return self.query_one("#data-body", Static)

    def show(self, datasets) -> None:
        from rich.console import Group
        from rich.markup import escape
        from rich.text import Text

        from ...display import gallery

        self.loaded = datasets
        spec = datasets.spec
        lines = [Text.from_markup(f"[b]{spec.name}[/]  {escape(spec.source)}"),
                 Text(f"samples of {spec.shape_text}, {spec.num_classes} classes; {len(datasets.train):,} train / "
                      f"{len(datasets.val):,} validation / {len(datasets.test):,} test; {datasets.mode_detail}")]
        if spec.no_flip:
            lines.append(Text(f"augment: no horizontal flips here ({spec.no_flip})"))
        lines += [Text(f"skipped: {note}", style="yellow") for note in datasets.notes]
        lines.append(Text(""))
        if len(spec.input_shape) == 3:
            lines += gallery(datasets.samples(), max(20, self.size.width - 4), size=16)
        else:
            lines.append(Text(f"classes: {', '.join(spec.classes)} (1-D samples: no pictures to draw)"))
        self.body.update(Group(*lines))

    def action_back(self) -> None:
        self.app.pop_screen()
