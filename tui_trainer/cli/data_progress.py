"""Downloads and decoding while a dataset loads: a bar on stderr (stdout may carry JSON lines)."""

from __future__ import annotations

import sys
import time


class DataProgress:
    """``progress(label, done, total)`` for :func:`tui_trainer.data.load_data`: a rich bar per
    label on a terminal, else a line per label and about every 10 % (never more than once a second)."""

    def __init__(self, stream=None, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled  # several processes: process 0 alone shows it
        self.live = self.stream.isatty()
        self.progress = None
        self.tasks: dict[str, int] = {}
        self.last: dict[str, tuple[float, int]] = {}

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.live:
            self._bar(label, done, total)
            return
        now = time.monotonic()
        seen, step = self.last.get(label, (0.0, -1))
        tenth = int(10 * done / total) if total else 0
        if label not in self.last or (tenth > step and now - seen >= 1.0) or (total and done >= total and step < 10):
            amount = f"{done / 2**20:,.1f} of {total / 2**20:,.1f} MB" if "download" in label and total else (
                f"{done:,}/{total:,}" if total else "")
            print(f"{label} {amount}".rstrip(), file=self.stream, flush=True)
            self.last[label] = (now, tenth if not (total and done >= total) else 10)

    def _bar(self, label: str, done: int, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     DownloadColumn() if "download" in label
                                     else MofNCompleteColumn(), TimeRemainingColumn(),
                                     console=Console(file=self.stream), transient=False)
            self.progress.start()
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
