"""A run another process trains, followed live in the app's main view (``w`` in the Runs view):
one left training by an earlier app, or a headless ``tui-trainer train``.

It is read as ``tui-trainer watch`` reads it (the complete lines appended to its
``metrics.jsonl``, ten times a second) and steered as ``tui-trainer nudge`` steers it: every
key writes a request into the run's folder, which its process answers (pause, stop and a text
sample as well as the steering keys). It ends when the run's end event arrives, or when the
process holding its ``writer.lock`` is gone without one (killed).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..engine.events import Event, RunEnded, RunStarted
from ..runs.folder import METRICS
from ..runs.follow import MetricsFollower
from ..runs.lock import holder
from ..runs.nudge import send, send_control, wait_reply
from .session import Job

#: How often the writer's lock is looked at, to notice a run killed without an end event.
WRITER_SECONDS = 1.0


class FollowedRun(Job):
    what = "followed run"
    refusal = "a run is followed in the main view"
    owned = False  # quitting leaves it as it is: another process trains it

    def __init__(self, run_dir: Path) -> None:
        super().__init__(Path(run_dir).parent)
        self.run_dir = str(run_dir)
        self.follower = MetricsFollower(Path(run_dir) / METRICS)
        self.ended: RunEnded | None = None
        self.started: RunStarted | None = None
        self.summary: dict[str, Any] | None = None
        self.paused = False
        self._checked = time.monotonic()

    def start(self, app: Any, worker: Any = None) -> None:
        self._app, self.worker = app, None

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    @property
    def can_sample(self) -> bool:
        return self.started is not None and self.started.tokens_per_sample > 0

    def take_loading(self) -> None:
        return None

    def drain(self) -> list[Event]:
        """The events written since the last call (on the UI thread, at 10 Hz); ends the job with the run."""
        if self.finished.is_set():
            return []
        events = self.follower.poll()
        for event in events:
            if isinstance(event, RunStarted):
                self.started, self.ended = event, None
            elif isinstance(event, RunEnded):
                self.ended, self.summary = event, event.summary
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

    def stop(self, reason: str) -> None:
        self.stop_requested.set()
        send_control(Path(self.run_dir), "stop", reason)

    def pause(self) -> bool:
        self.paused = not self.paused
        send_control(Path(self.run_dir), "pause" if self.paused else "resume")
        return self.paused

    def request_sample(self) -> str:
        if not self.can_sample:
            return "g samples text from a language model; this run is not one (data.dataset = \"text\" is)"
        send_control(Path(self.run_dir), "sample")
        return "sampling text from the current weights (through the run's folder)…"

    def steer(self, changes: dict[str, Any], reply: Callable[[str, str, int], None]) -> None:
        """Ask through the run's folder; ``reply`` hears its answer on a thread of its own."""
        request = send(Path(self.run_dir), changes)

        def wait() -> None:
            answer = wait_reply(request, 30)
            if answer is None:
                reply("refused", "no answer from the run in 30 s (its process may be gone)", -1)
            else:
                reply(answer["status"], answer["detail"], answer["step"])

        threading.Thread(target=wait, name="nudge-reply", daemon=True).start()
