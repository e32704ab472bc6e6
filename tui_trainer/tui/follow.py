"""A run another process trains, followed live in the app's main view (``w`` in the Runs view):
one left training by an earlier app, or a headless ``tui-trainer train``: the folder-backed
:class:`~.handle.RunHandle`.

It is read as ``tui-trainer watch`` reads it (the complete lines appended to its
``metrics.jsonl``, ten times a second), and its commands (pause, stop, a text sample and the
steering keys) go through the run folder's inbox, as ``tui-trainer nudge``'s do. It ends when
the run's end event arrives, or when the process holding its ``writer.lock`` is gone without
one (killed).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ..engine.commands import Command, Reply
from ..engine.events import Event, RunEnded, RunStarted
from ..runs.folder import METRICS
from ..runs.follow import MetricsFollower
from ..runs.lock import holder
from ..runs.nudge import send, wait_reply
from .handle import RunHandle

#: How often the writer's lock is looked at, to notice a run killed without an end event.
WRITER_SECONDS = 1.0
#: How long an answer is waited for before the process is taken to be gone.
REPLY_SECONDS = 30


class FollowedRun(RunHandle):
    what = "followed run"
    refusal = "a run is followed in the main view"
    owned = False  # quitting leaves it as it is: another process trains it
    sampling = "sampling text from the current weights (through the run's folder)…"

    def __init__(self, run_dir: Path) -> None:
        super().__init__(Path(run_dir).parent)
        self.run_dir = str(run_dir)
        self.follower = MetricsFollower(Path(run_dir) / METRICS)
        self.started: RunStarted | None = None
        self._checked = time.monotonic()

    @property
    def can_sample(self) -> bool:
        return self.started is not None and self.started.tokens_per_sample > 0

    def submit(self, command: Command, reply: Reply | None = None) -> None:
        """Write the command into the run's inbox; ``reply`` hears its answer on a thread of its own."""
        request = send(Path(self.run_dir), command)
        if reply is None:
            return

        def wait() -> None:
            answer = wait_reply(request, REPLY_SECONDS)
            if answer is None:
                reply("refused", f"no answer from the run in {REPLY_SECONDS} s (its process may be gone)", -1)
            else:
                reply(answer["status"], answer["detail"], answer["step"])

        threading.Thread(target=wait, name="nudge-reply", daemon=True).start()

    def drain(self) -> list[Event]:
        """The events written since the last call (on the UI thread, at 10 Hz); ends the job with the run."""
        if self.finished.is_set():
            return []
        events = self.follower.poll()
        for event in events:
            self._saw(event)
            if isinstance(event, RunStarted):
                self.started = event
        now = time.monotonic()
        if self.ended is not None:
            self._finish()
        elif now - self._checked >= WRITER_SECONDS:
            self._checked = now
            if holder(self.run_dir) is None:
                events += self.follower.poll()  # what it wrote last
                if not any(isinstance(e, RunEnded) for e in events):
                    self.error = (f"the process training {self.run_dir} is gone without ending the run (killed?); "
                                  "its folder keeps its last checkpoint: u in the Runs view resumes it")
                self._finish()
        return events
