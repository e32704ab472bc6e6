"""What every experiment shares: the planned run, the folder rule and the JSON index.

A sweep and a lab plan :class:`PlannedRun` s (a config on a seed, with the name of its folder
inside the experiment's folder) in a folder named by what defines them (:func:`folder_for`), so
the same command again resumes them; an ablation, never resumed, plans its variants and gets a
fresh folder each time. All three keep their state in one JSON file in their folder, written
whole by :func:`save_index` so a reader never sees half of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..config import Config
from ..runs.folder import _slug


@dataclass
class PlannedRun:
    """One run of an experiment: a sweep's grid point, or a lab's arm (at a scanned value), on one seed."""

    label: str  # what it varies, in words: "train.lr=0.001 tricks.dropout.p=0.3", "dropout 0.3"
    seed: int
    config: Config | None  # None where read back from the index (the tables need no config)
    name: str  # its folder's name inside the experiment's folder
    fields: dict[str, Any] = field(default_factory=dict)  # the same as data: {"point": ...}, {"arm": ..., "value": ...}

    @property
    def key(self) -> str:
        return f"{self.label} seed={self.seed}"


def folder_for(runs_dir: Path | str, kind: str, name: str, what: dict[str, Any]) -> Path:
    """``<runs>/<kind>-<name>-<digest>``: the digest of ``what`` defines the experiment (its
    settings, grid or lab, and seeds), so the same experiment finds its folder again, to resume
    it, and a different one gets its own."""
    text = json.dumps(what, sort_keys=True, default=str)
    return Path(runs_dir) / f"{kind}-{_slug(name)}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def save_index(folder: Path | None, filename: str, index: dict[str, Any]) -> None:
    """Write an experiment's index (``sweep.json``, ``ablation.json``, ``lab.json``) atomically."""
    if folder is not None:
        atomic_write_text(folder / filename, json.dumps(index, indent=2, default=str) + "\n")
