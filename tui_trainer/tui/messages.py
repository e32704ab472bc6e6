"""The messages the app, its screens and its background jobs exchange. Plain dataclasses:
a screen asks the app for something by posting one, and the app tells a screen what
changed by posting one to it; neither calls into the other. The messages a job posts
about itself (:class:`~.session.JobFinished` and :class:`~.session.JobUpdated`) are
declared with the jobs, in :mod:`.session`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual.message import Message

@dataclass
class ResumeRequested(Message):
    """The Runs screen asks to resume the run in ``path`` (stopped, failed, pruned or killed)."""

    path: Path


@dataclass
class FollowRequested(Message):
    """The Runs screen asks to follow the run in ``path``, which another process trains, in the main view."""

    path: Path


@dataclass
class AblateRequested(Message):
    """The Runs screen asks to ablate the current settings on ``seeds`` seeds."""

    seeds: int


@dataclass
class StopRequested(Message):
    """Stop what is running: the app's own job; when it has none, the run in ``path`` that
    another process trains (through its folder)."""

    path: Path | None = None


@dataclass
class RunsChanged(Message):
    """A run folder was created or finished: lists of runs should be read again."""

    bubble: ClassVar[bool] = False


@dataclass
class LabRequested(Message):
    """The Labs screen asks to run the lab ``name`` on ``seeds`` seeds (None: the lab's own)."""

    name: str
    seeds: int | None


@dataclass
class WorkerSaid(Message):
    """The worker process said something about itself (:class:`~tui_trainer.worker.protocol.Ready`,
    ``Described``) or ended (``Gone``); posted from the client's reader thread, handled on the UI
    thread. A job's own messages go to the job."""

    bubble: ClassVar[bool] = False
    message: Any
