"""Reading a ``metrics.jsonl`` while another process appends to it (``tui-trainer watch``).

Only complete lines are parsed: the writer may be mid-line. A file that got shorter was
truncated by a resume and is read again from the start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine.events import event_from_dict


class MetricsFollower:
    """Reads the complete lines appended to a ``metrics.jsonl`` since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.restarted = False

    def poll(self) -> list[Any]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # truncated by a resume: start over
            self.offset, self.partial, self.restarted = 0, b"", True
        if size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()  # an incomplete last line waits for the rest
        events = []
        for line in lines:
            try:
                events.append(event_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a garbled line (a writer killed mid-line, then resumed)
        return events
