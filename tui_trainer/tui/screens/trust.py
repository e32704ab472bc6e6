"""The question asked before the app runs a preset's own Python code for the first time (or after its
file changed): which file, its hash, and what the code can do. ``y`` trusts the files as they are now
(their hashes are kept, as ``tui-trainer presets trust`` keeps them), Escape or ``n`` runs nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...usercode.refs import CodeRef


class TrustScreen(ModalScreen[bool]):
    """Dismissed with True (run it, and remember the files) or False."""

    BINDINGS = [
        Binding("y", "answer(True)", "Trust and run"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]
    DEFAULT_CSS = """
    TrustScreen { align: center middle; }
    #trust-box { width: 80; height: auto; border: round $warning; padding: 0 1; background: $surface; }
    #trust-text { height: auto; margin-bottom: 1; }
    #trust-buttons { height: auto; }
    #trust-buttons Button { margin-right: 1; }
    """

    def __init__(self, refs: list[CodeRef]):
        super().__init__()
        self.refs = refs

    def compose(self) -> ComposeResult:
        files = "\n".join(f"  {ref.key}: [b]{ref.where}[/] (sha256 {(ref.digest() or '-')[:12]})" for ref in self.refs)
        text = (f"This preset runs Python code of its own:\n{files}\nIt runs with your permissions, as any program "
                "you start. Read it first. [b]y[/] trusts these files as they are now (a changed file asks again); "
                "[b]n[/] or Escape runs nothing.")
        with Vertical(id="trust-box"):
            yield Static(text, id="trust-text")
            with Horizontal(id="trust-buttons"):
                yield Button("Trust and run", id="yes", variant="warning", compact=True)
                yield Button("Cancel", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
