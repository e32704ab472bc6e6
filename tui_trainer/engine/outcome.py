"""How a run ends, as the parts of the loop that can end it say."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """How a run ends: ``completed``, ``early_stopped``, ``stopped``, ``diverged`` (or ``failed``)."""

    status: str
    reason: str
