"""The run the main view shows, as the app's keys see it: a :class:`RunHandle`. The keys (pause,
stop, steering, a text sample) are commands submitted to it, and its events are drained into
the live view ten times a second; the handlers do not know which channel is behind it.

:class:`TrainingSession` is the worker-backed handle: the app's worker process trains the run,
and the commands travel over its socket. :class:`~.follow.FollowedRun` is the folder-backed one:
another process trains the run, and the commands go through the run folder's inbox.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine.commands import Pause, Reply, Resume, Sample, Steer
from ..engine.events import Event, RunEnded, RunStarted
from ..worker.client import how_it_ended
from ..worker.jobs import TrainJob
from ..worker.protocol import Detach, Detached, Events, Loading, Prepared
from .session import Job, WorkerJob

NOT_A_LANGUAGE_MODEL = "g samples text from a language model; this run is not one (data.dataset = \"text\" is)"


class RunHandle(Job):
    """A live run the app shows and controls."""

    can_sample = False  # a language model: g asks it for text
    sampling = "sampling text from the current weights…"  # what g says
    paused = False  # asked to pause
    held = False  # the run waits in the pause (it answered so)
    run_dir: str | None = None
    summary: dict[str, Any] | None = None  # from the run's end event
    ended: RunEnded | None = None

    def drain(self) -> list[Event]:  # pragma: no cover - each channel says
        """The events received since the last drain (on the UI thread)."""
        raise NotImplementedError

    def take_loading(self) -> tuple[str, int, int | None] | None:
        """The latest step of the data's loading, if the UI has not had it yet (on the UI thread)."""
        return None

    def toggle_pause(self) -> bool:
        """Pause or resume; True when now paused."""
        self.paused, self.held = not self.paused, False
        if self.paused:
            self.submit(Pause(), lambda status, *_: self._held(status == "applied"))
        else:
            self.submit(Resume())
        return self.paused

    def _held(self, held: bool) -> None:
        self.held = held and self.paused

    def request_sample(self) -> str:
        """Ask the run for a text sample at its next step; what to tell the user."""
        if not self.can_sample:
            return NOT_A_LANGUAGE_MODEL
        self.submit(Sample())
        return self.sampling

    def steer(self, changes: dict[str, Any], reply: Reply) -> None:
        """Change settings at the run's next step; ``reply(status, detail, step)`` hears the answer (another thread)."""
        self.submit(Steer(changes, "app"), reply)

    def _saw(self, event: Event) -> None:
        """What the handle itself keeps of the run's events: where it is, how it ended."""
        if isinstance(event, RunStarted):
            self.run_dir, self.ended = event.run_dir or self.run_dir, None
        elif isinstance(event, RunEnded):
            self.ended, self.summary = event, event.summary
            self.run_dir = event.summary.get("run_dir") or self.run_dir


class TrainingSession(RunHandle, WorkerJob):
    """A run (or the resume of a run folder) in the app's worker; its events are drained by the app."""

    def __init__(self, config: Config, runs_dir: Path, resume: Path | None = None) -> None:
        """``resume``: a run folder to go on with (its own config, from its ``last.pt``)."""
        super().__init__(TrainJob(config, Path(runs_dir), resume))
        self.config, self.resume = config, resume
        self.events: deque[Event] = deque()
        self.loading: tuple[str, int, int | None] | None = None  # the latest download or decoding step
        self._loading_taken: tuple[str, int, int | None] | None = None
        self.detached = threading.Event()  # left training, with nobody listening
        self.lags: deque[float] = deque(maxlen=10_000)  # seconds each batch of events took to arrive (bench/tui.py)

    # -- the worker's messages, on the client's reader thread -------------------------------

    def got_events(self, message: Events) -> None:
        self.lags.append(time.time() - message.emitted)  # from the first event's emission to its arrival here
        for event in message.events:
            self._saw(event)
        self.events.extend(message.events)

    def got_loading(self, message: Loading) -> None:
        self.loading = (message.label, message.done, message.total)

    def got_prepared(self, message: Prepared) -> None:
        self.can_sample = message.can_sample

    def got_detached(self, message: Detached) -> None:
        self.run_dir = message.run_dir or self.run_dir
        self.detached.set()

    def gone(self, returncode: int | None, last_line: str) -> None:
        if self.run_dir is None:
            return super().gone(returncode, last_line)
        self.error = (f"the worker process training {self.run_dir} ended: {how_it_ended(returncode)}; its folder keeps "
                      "its last checkpoint: u in the Runs view resumes it")
        self._finish()

    # -- the UI thread ----------------------------------------------------------------------

    def take_loading(self) -> tuple[str, int, int | None] | None:
        if self.events:
            return None  # the run has started: its events say the rest
        loading = self.loading
        if loading == self._loading_taken:
            return None
        self._loading_taken = loading
        return loading

    def drain(self) -> list[Event]:
        batch = []
        while self.events:
            batch.append(self.events.popleft())
        return batch

    def detach(self) -> None:
        """Leave the run training when the app closes: its folder is then its only record."""
        if self.worker is not None:
            self.worker.send(Detach())
