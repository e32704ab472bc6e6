"""The app's jobs: each is what the app knows of a job its worker process runs.

A job is sent to the worker (:mod:`tui_trainer.worker`) when it starts; the worker's messages
about it arrive on the client's reader thread and land here (:meth:`Job.receive`): a run's
events go into a deque that the app drains at 10 Hz (posting one message per step would flood
the screen), an ablation's or a lab's plan replaces the one kept, and the end sets
:attr:`Job.finished` and posts :class:`~.messages.JobFinished`. What went wrong reaches the
user by one path: :attr:`Job.failure`, shown once by the app. The controls (pause, stop,
steering, a sample) are messages to the worker, which hands them to the run's Control.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from textual.app import App
from textual.message import Message

from ..config import Config
from ..engine.events import Event, RunEnded, RunStarted
from ..worker.client import WorkerClient, how_it_ended
from ..worker.protocol import Job as JobSpec


# -- what a job tells the app and its screens (posted from the worker client's reader thread) --

@dataclass
class JobFinished(Message):
    """A job (a run, an ablation, a lab, the LR range test) ended in any way; posted from the
    worker client's reader thread."""

    bubble: ClassVar[bool] = False

    job: Job


@dataclass
class AblationUpdated(Message):
    """An ablation was planned, or one of its runs ended; posted from its worker thread,
    and by the app on to the Runs screen (it does not bubble back)."""

    bubble: ClassVar[bool] = False
    job: AblationSession


@dataclass
class LabUpdated(Message):
    """A lab was planned, or one of its runs ended, or it ended; posted from its worker thread,
    and by the app on to the Labs screen."""

    bubble: ClassVar[bool] = False
    job: LabJob


class Job:
    """A job of the app in its worker: started once, stopped on request, finished once."""

    what = "job"  # in the app's messages: "the run failed", "stop the ablation"
    refusal = "a job is running"  # why another cannot start now
    can_leave = False  # quitting may leave it training (a run), or only stop it
    owned = True  # the app's own (its worker runs it), not a run another process trains
    locks_settings = True  # the settings cannot change while it runs

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.finished = threading.Event()
        self.stop_requested = threading.Event()
        self.error: str | None = None  # why the job failed (a refusal, a crash, the worker's death)
        self.worker: WorkerClient | None = None
        self._app: App | None = None

    def spec(self) -> JobSpec:  # pragma: no cover - each job says what it runs
        raise NotImplementedError

    def start(self, app: App, worker: WorkerClient) -> None:
        self._app, self.worker = app, worker
        if not worker.send("job", self.spec()):
            self.gone(None, "")

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.finished.is_set()

    def stop(self, reason: str) -> None:
        self.stop_requested.set()
        if self.worker is not None:
            self.worker.send("stop", reason)

    # -- the worker's messages, on the client's reader thread -------------------------------

    def receive(self, kind: str, args: tuple) -> None:
        if kind == "finished":
            self.end(args[0])
        elif kind == "update":
            self.update(args[0])

    def update(self, plan: Any) -> None:
        pass

    def announce(self) -> None:
        """Tell the screen that shows this job that it changed (an ablation's table, a lab's)."""

    def end(self, outcome: dict[str, Any]) -> None:
        self.error = outcome.get("error")
        self._finish()

    def gone(self, returncode: int | None, last_line: str) -> None:
        """The worker died with this job in it."""
        self.error = f"its worker process ended: {how_it_ended(returncode)}" + (f" ({last_line})" if last_line else "")
        self._finish()

    def _finish(self) -> None:
        self.finished.set()
        self._post(JobFinished(self))

    def _post(self, message: Any) -> None:
        if self._app is not None:
            self._app.post_message(message)

    @property
    def failure(self) -> str | None:
        """What to tell the user went wrong, if the job's own events have not said it."""
        return self.error


class TrainingSession(Job):
    """A run (or the resume of a run folder) in the worker; its events are drained by the app."""

    what = "run"
    refusal = "a run is already going"
    can_leave = True

    def __init__(self, config: Config, runs_dir: Path, resume: Path | None = None) -> None:
        """``resume``: a run folder to go on with (its own config, from its ``last.pt``)."""
        super().__init__(runs_dir)
        self.config = config
        self.resume = resume
        self.events: deque[Event] = deque()
        self.ended: RunEnded | None = None
        self.summary: dict[str, Any] | None = None
        self.run_dir: str | None = None
        self.loading: tuple[str, int, int | None] | None = None  # the latest download or decoding step
        self._loading_taken: tuple[str, int, int | None] | None = None
        self.can_sample = False  # a language model, known once the run is prepared
        self.paused = False  # asked to pause
        self.held = False  # the run waits in the pause (the worker said so)
        self.detached = threading.Event()  # left training, with nobody listening
        self.lags: deque[float] = deque(maxlen=10_000)  # seconds each batch of events took to arrive (bench/tui.py)
        self._replies: dict[int, Callable[[str, str, int], None]] = {}
        self._tokens = itertools.count(1)

    def spec(self) -> JobSpec:
        return JobSpec("train", self.config, self.runs_dir, self.resume)

    def receive(self, kind: str, args: tuple) -> None:
        if kind == "events":
            self.lags.append(time.time() - args[1])  # from the first event's emission to its arrival here
            for event in args[0]:
                if isinstance(event, RunEnded):
                    self.ended = event
                elif isinstance(event, RunStarted):
                    self.run_dir = event.run_dir
            self.events.extend(args[0])
        elif kind == "loading":
            self.loading = tuple(args)
        elif kind == "prepared":
            self.can_sample = args[0]["can_sample"]
        elif kind == "steered":
            token, status, detail, step = args
            reply = self._replies.pop(token, None)
            if reply is not None:
                reply(status, detail, step)
        elif kind == "held":
            self.held = args[0]
        elif kind == "detached":
            self.run_dir = args[0] or self.run_dir
            self.detached.set()
        else:
            super().receive(kind, args)

    def end(self, outcome: dict[str, Any]) -> None:
        self.summary = outcome.get("summary")
        self.run_dir = outcome.get("run_dir") or self.run_dir
        super().end(outcome)

    def gone(self, returncode: int | None, last_line: str) -> None:
        if self.run_dir is None:
            return super().gone(returncode, last_line)
        self.error = (f"the worker process training {self.run_dir} ended: {how_it_ended(returncode)}; its folder keeps "
                      "its last checkpoint: u in the Runs view resumes it")
        self._finish()

    def take_loading(self) -> tuple[str, int, int | None] | None:
        """The latest loading step if the UI has not had it yet (on the UI thread)."""
        if self.events:
            return None  # the run has started: its events say the rest
        loading = self.loading
        if loading == self._loading_taken:
            return None
        self._loading_taken = loading
        return loading

    def drain(self) -> list[Event]:
        """The events received since the last drain (on the UI thread)."""
        batch = []
        while self.events:
            batch.append(self.events.popleft())
        return batch

    @property
    def failure(self) -> str | None:
        if self.ended is not None and self.error is None:
            return None  # a run's own end event says how it ended
        return self.error

    def request_sample(self) -> str:
        """Ask the run for a text sample at its next step; what to tell the user."""
        if not self.can_sample:
            return "g samples text from a language model; this run is not one (data.dataset = \"text\" is)"
        self.worker.send("sample")
        return "sampling text from the current weights…"

    def pause(self) -> bool:
        """Pause or resume; True when now paused."""
        self.paused = not self.paused
        self.held = self.held and self.paused
        self.worker.send("pause" if self.paused else "resume")
        return self.paused

    def steer(self, changes: dict[str, Any], reply: Callable[[str, str, int], None]) -> None:
        """Change settings at the run's next step; ``reply(status, detail, step)`` hears the answer (reader thread)."""
        token = next(self._tokens)
        self._replies[token] = reply
        self.worker.send("steer", changes, token)

    def detach(self) -> None:
        """Leave the run training when the app closes: its folder is then its only record."""
        self.worker.send("detach")


class AblationSession(Job):
    what = "ablation"
    refusal = "an ablation is running (Runs view, r)"

    def __init__(self, config: Config, seeds: int, runs_dir: Path) -> None:
        super().__init__(runs_dir)
        self.config = config
        self.seeds = seeds
        self.ablation = None  # the plan, with results filling in

    def spec(self) -> JobSpec:
        return JobSpec("ablate", self.config, self.runs_dir, seeds=self.seeds)

    def update(self, plan: Any) -> None:
        self.ablation = plan
        self.announce()

    def announce(self) -> None:
        self._post(AblationUpdated(self))

    def end(self, outcome: dict[str, Any]) -> None:
        self.ablation = outcome.get("plan") or self.ablation
        super().end(outcome)


class LabJob(Job):
    """A lab run from the Labs view: its runs in processes of the worker, one per core, each
    ending with :class:`~.messages.LabUpdated`; the screen draws their curves from their folders."""

    what = "lab"
    refusal = "a lab is running (Labs view, b)"

    def __init__(self, lab: str, seeds: int | None, runs_dir: Path) -> None:
        super().__init__(runs_dir)
        self.lab, self.seeds = lab, seeds
        self.session = None  # the lab's plan (labs.runner.LabSession), with results and its folder filling in

    def spec(self) -> JobSpec:
        return JobSpec("lab", runs_dir=self.runs_dir, seeds=self.seeds, lab=self.lab)

    def update(self, plan: Any) -> None:
        self.session = plan
        self.announce()

    def announce(self) -> None:
        self._post(LabUpdated(self))

    def end(self, outcome: dict[str, Any]) -> None:
        self.session = outcome.get("plan") or self.session
        super().end(outcome)


class LRFindJob(Job):
    """The LR range test of the current settings; its points arrive as the sweep goes."""

    what = "LR range test"
    refusal = "the LR finder is running"
    locks_settings = False  # its screen covers them, and closing it stops the sweep

    def __init__(self, config: Config, steps: int) -> None:
        super().__init__(Path("."))
        self.config, self.steps = config, steps
        self.points: list[tuple[float, float]] = []  # (lr, smoothed loss)
        self.result = None

    def spec(self) -> JobSpec:
        return JobSpec("lr_find", self.config, steps=self.steps)

    def receive(self, kind: str, args: tuple) -> None:
        if kind == "lr_point":
            self.points.append((args[1], args[2]))
        elif kind == "loading":
            pass
        else:
            super().receive(kind, args)

    def end(self, outcome: dict[str, Any]) -> None:
        self.result = outcome.get("result")
        super().end(outcome)
