"""The commands a live run obeys: small frozen dataclasses, submitted to its
:class:`~.control.Control` (``control.submit(Stop("..."))``), whatever channel brought them.

The channels only decode into these and encode the replies: the app's worker socket (the
commands travel pickled, inside :class:`~tui_trainer.worker.protocol.Submit`), a run folder's
inbox (``tui-trainer nudge``, the app following a run another process trains: JSON, through
:func:`to_json` and :func:`from_json`), a trial's stop files, and the signal handlers.

A reply is ``reply(status, detail, step)``: ``status`` "applied" or "refused", ``detail`` in
words, ``step`` the global step it took effect before (-1 when it is not tied to a step).
No torch here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

Reply = Callable[[str, str, int], None]


@dataclass(frozen=True)
class Stop:
    """End the run at its next step boundary; it saves ``last.pt`` and stays resumable.
    ``status`` is how it ends: "stopped", or "pruned" by a sweep's scheduler."""

    reason: str = "stopped by the user"
    status: str = "stopped"


@dataclass(frozen=True)
class Pause:
    """Wait at the next step boundary until resumed (answered once the wait has begun)."""


@dataclass(frozen=True)
class Resume:
    """Go on after a pause."""


@dataclass(frozen=True)
class Sample:
    """A language model writes a text sample from its weights of the moment, at the next step boundary."""


@dataclass(frozen=True)
class Steer:
    """Change settings at the next step boundary: ``{knob: value}`` (see :mod:`.steering`)."""

    changes: dict[str, Any] = field(default_factory=dict)
    source: str = "app"  # who asked, as the intervention records it: "app", "nudge"


Command = Union[Stop, Pause, Resume, Sample, Steer]


def _name(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


#: The commands by the name they travel under in JSON.
COMMANDS: dict[str, type] = {_name(cls): cls for cls in (Stop, Pause, Resume, Sample, Steer)}


def to_json(command: Command) -> dict[str, Any]:
    return {"command": _name(type(command)), **dataclasses.asdict(command)}


def from_json(data: Any) -> Command:
    """The command a JSON object holds; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("a request is a JSON object with a \"command\"")
    cls = COMMANDS.get(data.get("command"))
    if cls is None:
        raise ValueError(f"unknown command {data.get('command')!r}; one of {', '.join(COMMANDS)}")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k != "command" and k not in names]
    if unknown:
        raise ValueError(f"{_name(cls)}: unknown field {', '.join(unknown)}; it takes {', '.join(names) or 'none'}")
    fields = {name: data[name] for name in names if name in data}
    if cls is Steer and not isinstance(fields.get("changes", {}), dict):
        raise ValueError("steer: \"changes\" is a JSON object of settings")
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ValueError(f"{_name(cls)}: {exc}") from None
