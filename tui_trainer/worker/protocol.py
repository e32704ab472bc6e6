"""What travels between the app and its worker: one frozen dataclass per message, pickled over
the socket, and dispatched by type (:func:`dispatch`), as the engine's events are. No torch here.

App → worker: :class:`StartJob` (a job spec of :mod:`.jobs`, which knows how to run itself),
:class:`Describe` (the settings, for the info panel), :class:`Submit` (a command for the job in
progress: stop, pause, resume, sample, steer) and :class:`Detach` (leave the run training).

Worker → app: :class:`Ready`, :class:`Described`, :class:`Loading`, :class:`Prepared`,
:class:`Events` (batched within 20 ms of being emitted), :class:`Replied` (a command's answer),
:class:`Update` (an ablation's or a lab's plan, the LR finder's curve so far),
:class:`Detached` and :class:`Finished`; and :class:`Gone`, which the app's client makes when the
worker ends without being asked. A run's own end is its :class:`~tui_trainer.engine.events.RunEnded`
event; :class:`Finished` says only that the job is over, with what no event told (a refusal,
a crash before the run started).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..config import Config
from ..engine.commands import Command

if TYPE_CHECKING:
    from .jobs import JobSpec

# -- app -> worker -----------------------------------------------------------------------


@dataclass(frozen=True)
class StartJob:
    job: JobSpec


@dataclass(frozen=True)
class Describe:
    config: Config
    threads: int | None
    token: int  # the answer's, so the app keeps only the latest


@dataclass(frozen=True)
class Submit:
    """A command for the job in progress; its answer comes back as :class:`Replied` with ``token``
    (None: no answer wanted)."""

    command: Command
    token: int | None = None


@dataclass(frozen=True)
class Detach:
    """Leave the job training with nobody listening; the worker ends with it."""


# -- worker -> app -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    for_app: ClassVar[bool] = True  # the app's own; the others are the job's in progress
    info: dict[str, Any]  # torch's version, the device, the worker's pid


@dataclass(frozen=True)
class Described:
    for_app: ClassVar[bool] = True
    token: int
    description: dict[str, Any]  # "text" for the info panel, and why mixed precision cannot apply


@dataclass(frozen=True)
class Gone:
    """The worker ended without being asked (killed, out of memory); made by the app's client."""

    for_app: ClassVar[bool] = True
    returncode: int | None
    last_line: str  # the last line of its stderr (the end of a traceback), or ""


@dataclass(frozen=True)
class Loading:
    for_app: ClassVar[bool] = False
    label: str
    done: int
    total: int | None


@dataclass(frozen=True)
class Prepared:
    """The run is prepared (data loaded, model built): what the app may ask of it."""

    for_app: ClassVar[bool] = False
    can_sample: bool


@dataclass(frozen=True)
class Events:
    for_app: ClassVar[bool] = False
    events: list[Any]
    emitted: float  # when the first of them was, by time.time()


@dataclass(frozen=True)
class Replied:
    for_app: ClassVar[bool] = False
    token: int
    status: str  # "applied" or "refused"
    detail: str
    step: int


@dataclass(frozen=True)
class Update:
    for_app: ClassVar[bool] = False
    value: Any


@dataclass(frozen=True)
class Detached:
    for_app: ClassVar[bool] = False
    run_dir: str | None


@dataclass(frozen=True)
class Finished:
    for_app: ClassVar[bool] = False
    result: Any = None  # what the job gives back (the LR finder's curve and suggestions)
    error: str | None = None  # a refusal or a crash, in one line, where no event has told it


MESSAGES = (StartJob, Describe, Submit, Detach, Ready, Described, Gone, Loading, Prepared, Events, Replied, Update,
            Detached, Finished)
_HANDLERS = {cls: "got_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower() for cls in MESSAGES}


def dispatch(consumer: Any, message: Any) -> bool:
    """Hand ``message`` to the consumer's method for its type, ``got_<name>`` (``got_finished``,
    ``got_start_job``, ...), if it has one; whether it had."""
    method = getattr(consumer, _HANDLERS[type(message)], None)
    if method is None:
        return False
    method(message)
    return True
