"""What the engine asks of the place a run is recorded: :class:`RunStore`.

The engine never names files. :class:`tui_trainer.runs.RunFolder` is the one store the
tool has (``config.toml``, ``metrics.jsonl``, checkpoints, ``summary.json``); a test or
another front end can pass anything with these members.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ..config import Config
from .events import Event


class RunStore(Protocol):
    path: Path

    def sink(self, event: Event) -> None:
        """Record one event (``metrics.jsonl``)."""

    def write_config(self, config: Config) -> None:
        """Record the resolved config, before the first event."""

    def write_preprocessing(self, record: dict[str, Any]) -> None:
        """Record what the model needs done to raw inputs and to its outputs (see :mod:`.preprocessing`)."""

    def save_checkpoint_async(self, kind: str, payload: dict[str, Any]) -> Path:
        """Snapshot ``payload`` now and write it as ``kind`` (``last`` or ``best``) in the background."""

    def wait(self) -> None:
        """Block until every checkpoint is written; raise the first write error."""

    def metrics_offset(self) -> int:
        """Where the event record ends now: the point a resume cuts it back to."""

    def events_after(self, offset: int) -> list[Event]:
        """The events recorded after ``offset`` (a resume replays their interventions)."""

    def truncate_metrics(self, offset: int) -> None:
        """Drop the events recorded after ``offset`` (those a resume replays)."""

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Record the run's result."""

    def close(self) -> None:
        """Finish every write and release the files."""
