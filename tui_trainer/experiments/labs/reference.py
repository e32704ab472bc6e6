"""A lab's expected time: measured here once the lab has run here (:func:`.runner.estimate`), and
before that the reference measurement committed beside the bundled labs (``reference.json``,
written by ``python bench/labs.py``: every bundled lab run whole, with its machine and date),
marked as such. The reference is used only for a lab file unchanged since it was measured, run
with its own settings (any ``--seeds``, which it scales by).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...display import duration
from .runner import estimate
from .spec import BUNDLED_LABS, Lab

REFERENCE = BUNDLED_LABS / "reference.json"


@dataclass(frozen=True)
class Expected:
    seconds: float
    machine: str = ""  # empty: measured here; else the reference machine, in a few words

    @property
    def here(self) -> bool:
        return not self.machine

    def cell(self) -> str:
        """For a table: ``~1:05`` (here) or ``~1:05 ref`` (see :func:`reference_note`)."""
        return f"~{duration(self.seconds)}" + ("" if self.here else " ref")

    def text(self) -> str:
        """For a sentence: ``about 1:05, as measured here`` or ``about 1:05 on a 2-core Intel Xeon
        (AMX), not run here yet``."""
        where = ", as measured here" if self.here else f" on {self.machine}, not run here yet"
        return f"about {duration(self.seconds)}{where}"


def digest(path: Path) -> str:
    """The lab file's text, hashed: a reference is for the file that was measured."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def reference() -> dict[str, Any]:
    """The committed measurement: its machine (``machine``, ``machine_short``), date, and per lab
    its seconds, seeds, digest and verdict."""
    return _load(REFERENCE)


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def reference_note() -> str:
    """The line under a table that marks the reference times: where and when they were measured."""
    data = reference()
    return (f"ref: not run here yet; the time it took on {data.get('machine_short', 'another machine')}, "
            f"{data.get('date', '?')} (python bench/labs.py)")


def expected(lab: Lab, runs_dir: Path | str, seeds: int | None = None,
             extra: dict[str, Any] | None = None) -> Expected | None:
    """The time the lab should take: measured here, else the reference's for an unchanged lab file
    and no settings of the user's (``train.threads`` aside), else None."""
    seconds = estimate(lab, runs_dir, seeds, extra)
    if seconds:
        return Expected(seconds)
    data = reference()
    entry = (data.get("labs") or {}).get(lab.name)
    if not entry or any(key != "train.threads" for key in (extra or {})):
        return None
    try:
        if digest(lab.path) != entry.get("digest"):
            return None
    except OSError:
        return None
    return Expected(entry["seconds"] * (seeds or lab.seeds) / entry["seeds"], data.get("machine_short", "?"))
