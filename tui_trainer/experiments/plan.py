"""What every experiment describes: its planned runs, its folder, its JSON index and what it
keeps of each run (:class:`Experiment`); :mod:`.runner` runs any of them.

A sweep, an ablation and a lab plan :class:`PlannedRun` s (a config on a seed, with the name of
its folder inside the experiment's folder). A sweep and a lab live in a folder named by what
defines them (:func:`folder_for`), so the same command again resumes them; an ablation, never
resumed, gets a fresh folder each time. Each keeps its state in one JSON file in its folder,
written whole by :func:`save_index` so a reader never sees half of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..atomic import atomic_write_text
from ..config import Config
from ..runs.folder import _slug


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def threads_each(jobs: int, threads: int | None) -> int | None:
    """The torch threads of each of ``jobs`` runs at once: their share of the cores, unless
    ``threads`` (``--threads``) says otherwise; None (the default) for one run at a time."""
    if threads is not None or jobs <= 1:
        return threads
    return max(1, cores() // jobs)


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


class Experiment:
    """An experiment kind describes its runs and how to summarise them, and nothing else: the
    runner (:func:`~.runner.run_experiment`) records, resumes, stops and schedules them."""

    kind: ClassVar[str] = "experiment"  # in messages: "cannot create the sweep folder"
    index: ClassVar[str] = "experiment.json"  # its JSON index, in its folder
    folder: Path | None = None
    stopped: bool = False  # asked to stop before every run was done

    @property
    def planned(self) -> list[PlannedRun]:  # pragma: no cover - each kind says
        """Every run, in the order they train."""
        raise NotImplementedError

    def folder_in(self, runs_dir: Path | str) -> Path:  # pragma: no cover - each kind says
        """Where its runs go under ``runs_dir`` (not created yet, unless fresh for each run of it)."""
        raise NotImplementedError

    def open(self, folder: Path) -> None:
        """Take up what ``folder``'s index says of an earlier run of this experiment."""

    def is_done(self, run: PlannedRun) -> bool:
        """Whether ``run`` is recorded as done already (the runner skips it)."""
        return False

    def will_train(self, run: PlannedRun, path: Path) -> None:
        """Just before ``run`` is handed to the trials, in its folder ``path``."""

    def record(self, run: PlannedRun, summary: dict[str, Any], how: str) -> None:  # pragma: no cover - each says
        """Keep what the summary of a run that ended says; ``how``: trained, resumed, skipped, failed."""
        raise NotImplementedError

    def begin(self) -> None:
        """The runs are about to train."""

    def end(self) -> None:
        """Every run that will train has (or the experiment was stopped): summarise."""

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - each kind says
        raise NotImplementedError

    def save(self) -> None:
        save_index(self.folder, self.index, self.to_json())
