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
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

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

        from ...display import data_lines

        self.loaded = datasets
        self.body.update(Group(*data_lines(datasets, max(20, self.size.width - 4))))

    def action_back(self) -> None:
        self.app.pop_screen()
