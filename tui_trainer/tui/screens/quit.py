"""The question asked when the app is closed while a job runs: stop it and quit (Enter, the
default, so ``q`` then Enter does what ``q`` always did), leave a run training without the app
(``l``), or stay (Escape)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[str | None]):
    """Dismissed with ``"stop"``, ``"leave"`` or None (stay)."""

    BINDINGS = [
        Binding("enter", "answer('stop')", "Stop and quit", priority=True),
        Binding("l", "answer('leave')", "Leave it training"),
        Binding("escape", "answer(None)", "Cancel"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    #quit-box { width: 72; height: auto; border: round $warning; padding: 0 1; background: $surface; }
    #quit-text { height: auto; margin-bottom: 1; }
    #quit-buttons { height: auto; }
    #quit-buttons Button { margin-right: 1; }
    """

    def __init__(self, what: str, run_dir: str | None, can_leave: bool):
        super().__init__()
        self.what, self.run_dir, self.can_leave = what, run_dir, can_leave

    def compose(self) -> ComposeResult:
        where = f" in {self.run_dir}" if self.run_dir else ""
        if self.can_leave:
            text = (f"A {self.what} is training{where}.\n[b]Enter[/] stops it (it saves last.pt; u in the Runs "
                    "view resumes it) and quits; [b]l[/] leaves it training without the app (tui-trainer watch "
                    "follows it, and the app shows it in its Runs view); [b]Escape[/] stays.")
        else:
            text = f"The {self.what} is running.\n[b]Enter[/] stops it and quits; [b]Escape[/] stays."
        with Vertical(id="quit-box"):
            yield Static(text, id="quit-text")
            with Horizontal(id="quit-buttons"):
                yield Button(f"Stop the {self.what} and quit", id="stop", variant="error", compact=True)
                if self.can_leave:
                    yield Button("Leave it training", id="leave", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#stop", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(None if event.button.id == "cancel" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        if answer == "leave" and not self.can_leave:
            return
        self.dismiss(answer)
