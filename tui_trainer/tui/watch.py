"""``tui-trainer watch RUN``: follow a run that another process is writing, read-only.

The run's ``metrics.jsonl`` is read ten times a second from where the last read stopped;
only complete lines are parsed (the writer may be mid-line). A file that got shorter was
truncated by a resume: it is read again from the start. A finished run is shown whole.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from ..engine.events import RunEnded, RunStarted
from ..runs.folder import METRICS, SUMMARY
from ..runs.follow import MetricsFollower
from .widgets.monitor import Monitor

POLL_SECONDS = 0.1
#: No new events for this long and no summary: the writer is probably gone.
QUIET_SECONDS = 30.0


class WatchApp(App):
    CSS_PATH = Path(__file__).parent / "styles.tcss"
    TITLE = "tui-trainer watch"
    AUTO_FOCUS = None
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]
    CSS = """
    #watch-info { height: 2; padding: 0 1; }
    #watch-monitor { height: 1fr; padding: 0 1; }
    """

    def __init__(self, run_dir: Path | str):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.follower = MetricsFollower(self.run_dir / METRICS)
        self.last_event = time.monotonic()
        self.ended = False
        self.events_seen = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.run_dir}: waiting for events", id="watch-info")
        yield Monitor(id="watch-monitor")
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

    def on_mount(self) -> None:
        self.sub_title = self.run_dir.name
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    @property
    def monitor(self) -> Monitor:
        return self.query_one(Monitor)

    def poll(self) -> None:
        events = self.follower.poll()
        if self.follower.restarted:
            self.follower.restarted = False
            self.monitor.write_log("[yellow]metrics.jsonl was truncated (the run was resumed): reading it again[/]")
            self.ended = False
        if events:
            self.last_event = time.monotonic()
            self.events_seen += len(events)
            for event in events:
                if isinstance(event, RunEnded):
                    self.ended = True
                elif isinstance(event, RunStarted):
                    self.ended = False
            self.monitor.feed(events)
        self._info()

    def _info(self) -> None:
        if self.ended:
            state = "finished"
        elif not self.follower.path.exists():
            state = "waiting for metrics.jsonl"
        elif time.monotonic() - self.last_event > QUIET_SECONDS and not (self.run_dir / SUMMARY).exists():
            state = (f"no new events for {time.monotonic() - self.last_event:.0f} s: the run may have been killed "
                     "(resume it with tui-trainer train --resume)")
        else:
            state = "live"
        self.query_one("#watch-info", Static).update(f"[b]{state}[/]  {self.run_dir}  (read-only; q quits)",
                                                     layout=False)


def watch_run(run_dir: Path | str) -> None:
    WatchApp(run_dir).run()
