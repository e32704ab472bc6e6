"""The bridge between the app and training: one object owns each background job.

A :class:`TrainingSession` owns a run started from the app: its event queue, its
:class:`~tui_trainer.engine.Control`, its worker thread and its end. The training thread
never touches the UI: the engine's events go into a deque that the app drains at 10 Hz
(posting one message per step cut throughput by more than half and froze the screen).
An :class:`AblationSession` owns an ablation the same way, and a :class:`LabJob` a lab. When a job ends, its thread posts
:class:`~.messages.JobFinished`; what went wrong reaches the user by one path:
:attr:`Job.failure`, shown once by the app.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any

from textual.app import App
from textual.worker import Worker

from ..config import Config
from ..engine.control import Control
from ..engine.events import Event, RunEnded
from ..errors import UserError
from .messages import AblationUpdated, JobFinished, LabUpdated


class Job:
    """A background job of the app: started once, stopped on request, finished once."""

    name = "job"

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.finished = threading.Event()
        self.error: str | None = None  # an exception the job ended with
        self.worker: Worker | None = None
        self._app: App | None = None

    def start(self, app: App) -> None:
        self._app = app
        self.worker = app.run_worker(self._run, thread=True, exit_on_error=False, group=self.name, name=self.name)

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.finished.is_set()

    def stop(self, reason: str) -> None:  # pragma: no cover - subclasses stop their runs
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self.work()
        except Exception as exc:  # a bug or a user error: kept, shown once by the app
            self.error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        finally:
            self.finished.set()
            self._post(JobFinished(self))

    def _post(self, message: Any) -> None:
        if self._app is not None:
            self._app.post_message(message)

    def work(self) -> None:  # pragma: no cover - subclasses train
        raise NotImplementedError

    @property
    def failure(self) -> str | None:
        """What to tell the user went wrong, if the job's own events have not said it."""
        return self.error


class TrainingSession(Job):
    name = "train"

    def __init__(self, config: Config, runs_dir: Path, resume: Path | None = None) -> None:
        """``resume``: a run folder to go on with (its own config, from its ``last.pt``)."""
        super().__init__(runs_dir)
        self.config = config
        self.resume = resume
        self.control = Control()
        self.events: deque[Event] = deque()
        self.ended: RunEnded | None = None
        self.summary: dict[str, Any] | None = None
        self.run_dir: str | None = None
        self.loading: tuple[str, int, int | None] | None = None  # the latest download or decoding step
        self._loading_taken: tuple[str, int, int | None] | None = None
        self.can_sample = False  # a language model, known once the trainer is prepared

    def progress(self, label: str, done: int, total: int | None) -> None:
        """The data's loading, on the training thread; the UI's drain shows the latest."""
        self.loading = (label, done, total)

    def take_loading(self) -> tuple[str, int, int | None] | None:
        """The latest loading step if the UI has not had it yet (on the UI thread)."""
        loading = self.loading
        if loading == self._loading_taken:
            return None
        self._loading_taken = loading
        return loading

    def sink(self, event: Event) -> None:
        """The engine's sink, on the training thread: queue the event for the UI."""
        if isinstance(event, RunEnded):
            self.ended = event
        self.events.append(event)

    def drain(self) -> list[Event]:
        """The events queued since the last drain (on the UI thread)."""
        batch = []
        while self.events:
            batch.append(self.events.popleft())
        return batch

    def work(self) -> None:
        from ..engine.trainer import Trainer
        from ..runs import RunFolder

        resumed = None
        if self.resume is not None:
            from ..runs.resume import load_resume

            self.config, last, best = load_resume(self.resume)
            resumed = (last, best)
        trainer = Trainer(self.config, sinks=[self.sink], progress=self.progress, resume=resumed)
        trainer.prepare()  # refuses what cannot run here before a folder is made
        self.can_sample = trainer.samples_text
        if self.control.stop_requested:  # stopped while preparing
            return
        trainer.attach(RunFolder(self.resume) if self.resume is not None else RunFolder.create(self.runs_dir, self.config.name))
        result = trainer.run(self.control)
        self.summary, self.run_dir = result.summary, result.run_dir

    @property
    def failure(self) -> str | None:
        return self.error if self.ended is None else None  # a run's own end event says why it failed

    def stop(self, reason: str) -> None:
        self.control.stop(reason)

    def request_sample(self) -> str:
        """Ask the run for a text sample at its next step; what to tell the user."""
        if not self.can_sample:
            return "g samples text from a language model; this run is not one (data.dataset = \"text\" is)"
        self.control.request_sample()
        return "sampling text from the current weights…"

    def pause(self) -> bool:
        """Pause or resume; True when now paused."""
        if self.control.paused:
            self.control.resume()
        else:
            self.control.pause()
        return self.control.paused


class AblationSession(Job):
    name = "ablate"

    def __init__(self, config: Config, seeds: int, runs_dir: Path) -> None:
        super().__init__(runs_dir)
        self.config = config
        self.seeds = seeds
        self.ablation = None  # the plan, with results filling in
        self.stop_requested = threading.Event()
        self._run_control: Control | None = None  # the Control of the ablation's current run

    def stop(self, reason: str) -> None:
        self.stop_requested.set()
        if self._run_control is not None:
            self._run_control.stop(reason)

    def _next_control(self) -> Control:
        self._run_control = Control()
        if self.stop_requested.is_set():
            self._run_control.stop("ablation stopped")
        return self._run_control

    def work(self) -> None:
        from .. import ablate
        from ..engine.precision import why_not_here

        self.ablation = ablate.plan(self.config, None, self.seeds, why_not_here)
        self._post(AblationUpdated(self))
        ablate.run(self.ablation, self.runs_dir, ablate.local_trainer(self._next_control),
                   lambda *_: self._post(AblationUpdated(self)), should_stop=self.stop_requested.is_set)


class LabJob(Job):
    """A lab run from the Labs view: its runs in worker processes, one per core, each ending
    with :class:`~.messages.LabUpdated`; the screen draws their curves from their folders."""

    name = "lab"

    def __init__(self, lab: str, seeds: int | None, runs_dir: Path) -> None:
        super().__init__(runs_dir)
        self.lab, self.seeds = lab, seeds
        self.control = Control()
        self.session = None  # the lab's plan (labs.runner.LabSession), with results and its folder filling in

    def stop(self, reason: str) -> None:
        self.control.stop(reason)

    def work(self) -> None:
        from ..labs import load_lab
        from ..labs.runner import cores, folder_for, plan, run
        from ..trials import ProcessTrials

        lab = load_lab(self.lab)
        jobs = min(cores(), lab.run_count(self.seeds))
        self.session = plan(lab, self.seeds, jobs=jobs)
        self.session.folder = folder_for(self.runs_dir, self.session)  # the screen draws its runs from the start
        self._post(LabUpdated(self))
        run(self.session, self.runs_dir, ProcessTrials(jobs, self.control, quiet=True), lambda *_: self._post(LabUpdated(self)),
            should_stop=lambda: self.control.stop_requested)
