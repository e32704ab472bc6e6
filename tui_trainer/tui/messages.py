"""The messages the app, its screens and its background jobs exchange. Plain dataclasses:
a screen asks the app for something by posting one, and the app tells a screen what
changed by posting one to it; neither calls into the other. The messages a job posts
about itself (:class:`~.session.JobFinished` and :class:`~.session.JobUpdated`) are
declared with the jobs, in :mod:`.session`.

A message that must not bubble says so as a class keyword, ``class M(Message, bubble=False)``:
Textual's ``Message.__init_subclass__`` sets ``bubble`` (True by default) after the class body, so
a ``bubble = False`` written in the body is overwritten. A JobUpdated that bubbled came back from
the screen the app forwarded it to, and the app forwarded it again, without end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
class RunsChanged(Message, bubble=False):
    """A run folder was created or finished: lists of runs should be read again."""


@dataclass
class LabRequested(Message):
    """The Labs screen asks to run the lab ``name`` on ``seeds`` seeds (None: the lab's own)."""

    name: str
    seeds: int | None


@dataclass
class TreatRequested(Message):
    """The Runs screen asks to treat the run in ``path``: its doctor's first prescription, trained
    beside its own settings as a lab (``tui-trainer runs treat``)."""

    path: Path


@dataclass
class WorkerSaid(Message, bubble=False):
    """The worker process said something about itself (:class:`~tui_trainer.worker.protocol.Ready`,
    ``Described``) or ended (``Gone``); posted from the client's reader thread, handled on the UI
    thread. A job's own messages go to the job."""

    message: Any
