"""What the app asks its worker to run: :class:`Job`, plain data (no torch on the app's side)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Config

#: The kinds of job a worker runs.
KINDS = ("train", "ablate", "lab", "lr_find")


@dataclass(frozen=True)
class Job:
    """``train``: ``config`` in a new folder under ``runs_dir``, or the run folder ``resume``
    (its own config); ``ablate``: ``config`` on ``seeds`` seeds; ``lab``: the lab ``lab`` on
    ``seeds`` seeds (None: its own); ``lr_find``: the range test of ``config``, in ``steps`` steps."""

    kind: str
    config: Config | None = None
    runs_dir: Path = Path("runs")
    resume: Path | None = None
    seeds: int | None = None
    lab: str | None = None
    steps: int = 100

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown job kind {self.kind!r}")
