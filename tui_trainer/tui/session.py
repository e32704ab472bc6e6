"""The app's jobs: what the app knows of a job, its worker process's or another process's.

A :class:`Job` is started once, takes commands (:mod:`tui_trainer.engine.commands`; a stop, for
every job) and finishes once, with :attr:`Job.failure` as the one path by which what went wrong
reaches the user. A :class:`WorkerJob` runs in the app's worker (:mod:`tui_trainer.worker`):
its spec (:mod:`tui_trainer.worker.jobs`, one class a kind) is sent when it starts, and the
worker's messages about it arrive on the client's reader thread and are dispatched here by type
(:meth:`WorkerJob.receive`). An ablation's or a lab's plan, or the LR finder's curve, replaces
:attr:`WorkerJob.progress` and posts :class:`JobUpdated`; the end sets :attr:`Job.finished`
and posts :class:`JobFinished`.

The run the main view shows is a :class:`~.handle.RunHandle`: :class:`TrainingSession` here
(the worker trains it), or :class:`~.follow.FollowedRun` (another process does).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message

from ..engine.commands import Command, Reply, Stop
from ..worker.client import WorkerClient, how_it_ended
from ..worker.jobs import JobSpec
from ..worker.protocol import Finished, Replied, StartJob, Submit, Update, dispatch


@dataclass
class JobFinished(Message, bubble=False):
    """A job (a run, an ablation, a lab, the LR range test) ended in any way; posted from the
    worker client's reader thread."""

    job: Job


@dataclass
class JobUpdated(Message, bubble=False):
    """A job's progress changed (an ablation or a lab was planned, or one of its runs ended), or a
    stop was answered; posted from the reader thread, and by the app on to the screen that shows
    the job (it does not bubble back)."""

    job: Job


class Job:
    """A job of the app: started once, stopped on request, finished once."""

    what = "job"  # in the app's messages: "the run failed", "stop the ablation"
    refusal = "a job is running"  # why another cannot start now
    can_leave = False  # quitting may leave it training (a run), or only stop it
    owned = True  # the app's own (its worker runs it), not a run another process trains
    locks_settings = True  # the settings cannot change while it runs

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.finished = threading.Event()
        self.stopping = False  # the job said it stops (the answer to a stop)
        self.error: str | None = None  # why the job failed (a refusal, a crash, the worker's death)
        self.worker: WorkerClient | None = None
        self._app: App | None = None

    def start(self, app: App, worker: WorkerClient | None) -> None:
        self._app, self.worker = app, worker

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def submit(self, command: Command, reply: Reply | None = None) -> None:  # pragma: no cover - each says
        """Send a command to the job; ``reply(status, detail, step)`` hears its answer (another thread)."""
        raise NotImplementedError

    def receive(self, message: Any) -> None:
        """A message of the app's worker about this job (a job the worker does not run hears none)."""

    def stop(self, reason: str) -> None:
        self.submit(Stop(reason), self._stop_answered)

    def _stop_answered(self, status: str, _detail: str, _step: int) -> None:
        self.stopping = self.stopping or status == "applied"
        self.announce()

    def announce(self) -> None:
        """Tell the screen that shows this job that it changed."""
        self._post(JobUpdated(self))

    def _finish(self) -> None:
        self.finished.set()
        self._post(JobFinished(self))

    def _post(self, message: Any) -> None:
        if self._app is not None:
            self._app.post_message(message)

    @property
    def failure(self) -> str | None:
        """What to tell the user went wrong, where the job's own events have not said it."""
        return self.error


class WorkerJob(Job):
    """A job the app's worker process runs, from its spec."""

    def __init__(self, spec: JobSpec) -> None:
        super().__init__(getattr(spec, "runs_dir", Path(".")))  # the LR range test writes no folder
        self.spec = spec
        self.what, self.refusal = spec.what, spec.refusal
        self.can_leave, self.locks_settings = spec.can_leave, spec.locks_settings
        self.progress: Any = None  # the latest Update: an ablation's or a lab's plan, the LR finder's curve
        self.result: Any = None  # what the job gave back when it finished
        self._replies: dict[int, Reply] = {}
        self._tokens = itertools.count(1)

    def start(self, app: App, worker: WorkerClient | None) -> None:
        super().start(app, worker)
        if worker is None or not worker.send(StartJob(self.spec)):
            self.gone(None, "")

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.finished.is_set()

    def submit(self, command: Command, reply: Reply | None = None) -> None:
        token = None
        if reply is not None:
            token = next(self._tokens)
            self._replies[token] = reply
        if self.worker is not None:
            self.worker.send(Submit(command, token))

    # -- the worker's messages, on the client's reader thread -------------------------------

    def receive(self, message: Any) -> None:
        dispatch(self, message)

    def got_replied(self, message: Replied) -> None:
        reply = self._replies.pop(message.token, None)
        if reply is not None:
            reply(message.status, message.detail, message.step)

    def got_update(self, message: Update) -> None:
        self.progress = message.value
        self.announce()

    def got_finished(self, message: Finished) -> None:
        self.result, self.error = message.result, message.error
        self._finish()

    def gone(self, returncode: int | None, last_line: str) -> None:
        """The worker died with this job in it."""
        self.error = f"its worker process ended: {how_it_ended(returncode)}" + (f" ({last_line})" if last_line else "")
        self._finish()
