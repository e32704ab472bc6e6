"""Where a run's record goes: its events, to the sinks (the run folder's first, so every event
is on disk before anything else sees it) and, when asked, kept in memory for the caller; its
checkpoints, written by the run folder in the background, each told by a
:class:`~.events.CheckpointSaved` event."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..config import Config, config_to_dict
from .events import CheckpointSaved, Event, RunEnded
from .store import RunStore

Sink = Callable[[Event], None]


class RunRecord:
    def __init__(self, config: Config, sinks: Iterable[Sink] = (), keep_events: bool = False):
        self.config = config
        self.sinks: list[Sink] = list(sinks)
        self.folder: RunStore | None = None
        self.keep_events = keep_events
        self.events: list[Event] = []
        self.ended: RunEnded | None = None  # the run's end, once told (a crash's too)

    def attach(self, folder: RunStore) -> None:
        """Record the run in ``folder``; its sink goes first."""
        if self.folder is not None:
            raise ValueError(f"a run folder is attached already: {self.folder.path}")
        self.folder = folder
        self.sinks.insert(0, folder.sink)

    @property
    def run_dir(self) -> str | None:
        return str(self.folder.path) if self.folder is not None else None

    def emit(self, event: Event) -> None:
        if self.keep_events:
            self.events.append(event)
        for sink in self.sinks:
            sink(event)
        if type(event) is RunEnded:
            self.ended = event

    def end(self, summary: dict[str, Any], ended: Event) -> None:
        """The summary, once every checkpoint is on disk; then the run's last event; the folder closed."""
        if self.folder is not None:
            self.folder.wait()
            self.folder.write_summary(summary)
        self.emit(ended)
        if self.folder is not None:
            self.folder.close()

    def save(self, kind: str, epoch: int, payload: dict[str, Any]) -> None:
        """A checkpoint (``best``, ``last``) with the config beside the payload; nothing without a folder."""
        if self.folder is None:
            return
        path = self.folder.save_checkpoint_async(kind, {**payload, "config": config_to_dict(self.config)})
        self.emit(CheckpointSaved(epoch, kind, str(path)))
