"""Starting a run, the one way every command starts one.

``tui-trainer train``, the app's worker process, and every trial of a sweep, an ablation or a
lab (in this process, in worker processes or as Ray tasks) go through :class:`Launcher`:

1. **resolve** the config: the one given, or a run folder's own (a resume, from its ``last.pt``);
2. **prepare** the :class:`~tui_trainer.engine.Trainer`: load the data (kept in this process's
   :class:`DataCache` for the next run of the same data), build the model, and refuse what
   cannot run here, before any folder exists;
3. **attach** the run folder: a new one, a given path, or the resumed one, locked for this
   process alone (:class:`~tui_trainer.runs.lock.WriterLock`), with an inbox for ``nudge``;
4. **run** under a :class:`~tui_trainer.engine.Control`, and return the result.

Under torchrun only process 0 attaches a folder; the others train silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .config import Config, config_to_dict, replace
from .data.spec import Progress, no_progress
from .engine.control import Control
from .runs.folder import RunFolder
from .runs.lock import WriterLock, check_free
from .runs.nudge import Inbox

if TYPE_CHECKING:
    from .data import Datasets
    from .engine.distributed import Distributed
    from .engine.trainer import RunResult, Trainer


class DataCache:
    """Datasets already loaded in this process, by their data settings: the runs of an
    ablation, a sweep or a lab, and the runs of the app's worker, load their data once. It
    keeps the ``size`` most recently used."""

    def __init__(self, size: int = 2):
        self.size = size
        self._kept: dict[str, Any] = {}

    @staticmethod
    def key(config: Config) -> str:
        return json.dumps(config_to_dict(config)["data"], sort_keys=True)

    def get(self, config: Config) -> "Datasets | None":
        key = self.key(config)
        if key not in self._kept:
            return None
        self._kept[key] = self._kept.pop(key)  # the most recent last
        return self._kept[key]

    def keep(self, config: Config, data: "Datasets") -> None:
        self._kept.pop(self.key(config), None)
        self._kept[self.key(config)] = data
        while len(self._kept) > self.size:
            self._kept.pop(next(iter(self._kept)))


#: This process's datasets (a Ray worker or a worker process keeps them between runs).
SHARED = DataCache()


class Launcher:
    """One run, from its settings (``config``, in a new folder under ``runs_dir`` or in ``folder``)
    or from a run folder to go on with (``resume``: its config, ``last.pt`` and ``best.pt``).

    ``threads`` overrides ``train.threads`` (a resume keeps everything else); ``sinks`` see every
    event after the run folder; ``progress`` hears the data's download and decoding."""

    def __init__(self, config: Config | None = None, *, resume: Path | str | None = None,
                 folder: Path | str | None = None, runs_dir: Path | str = "runs", threads: int | None = None,
                 sinks: Iterable[Callable] = (), progress: Progress = no_progress,
                 cache: DataCache | None = SHARED, distributed: "Distributed | None" = None):
        if (config is None) == (resume is None):
            raise ValueError("give a config, or a run folder to resume")
        self.config = config
        self.resume = Path(resume) if resume is not None else None
        self.folder = Path(folder) if folder is not None else None
        self.runs_dir = Path(runs_dir)
        self.threads = threads
        self.sinks = list(sinks)
        self.progress = progress
        self.cache = cache
        self.distributed = distributed
        self.checkpoints: tuple[dict[str, Any], dict[str, Any] | None] | None = None
        self.trainer: "Trainer | None" = None
        self.lock: WriterLock | None = None
        self.inbox: Inbox | None = None

    @property
    def is_main(self) -> bool:
        return self.distributed is None or self.distributed.is_main

    @property
    def path(self) -> Path | None:
        """The run folder, once attached."""
        folder = self.trainer.record.folder if self.trainer is not None else None
        return folder.path if folder is not None else None

    def resolve(self) -> Config:
        """The config the run trains: the given one, or the resumed folder's own (its checkpoints loaded)."""
        if self.resume is not None and self.checkpoints is None:
            from .runs.resume import load_resume

            if self.is_main:
                check_free(self.resume)  # before reading files another process is writing
            self.config, last, best = load_resume(self.resume)
            self.checkpoints = (last, best)
        if self.threads is not None and self.config.train.threads != self.threads:
            self.config = replace(self.config, {"train.threads": self.threads})
        return self.config

    def prepare(self) -> "Trainer":
        """The prepared Trainer: data loaded, model built, everything that cannot run here refused.
        Nothing is written yet."""
        if self.trainer is not None:
            return self.trainer
        from .engine.trainer import Trainer

        config = self.resolve()
        data = self.cache.get(config) if self.cache is not None else None
        trainer = Trainer(config, sinks=self.sinks, data=data, progress=self.progress, resume=self.checkpoints,
                          distributed=self.distributed)
        trainer.prepare()
        if self.cache is not None:
            self.cache.keep(config, trainer.data)
        self.trainer = trainer
        return trainer

    def attach(self) -> Path | None:
        """Create (or take) the run folder and lock it for this process; None on processes other than 0."""
        trainer = self.prepare()
        if not self.is_main:
            return None
        if trainer.record.folder is not None:
            return trainer.record.folder.path
        if self.resume is not None:
            path = self.resume
        elif self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder
        else:
            path = RunFolder.create(self.runs_dir, self.config.name).path
        self.lock = WriterLock(path).acquire()
        trainer.attach(RunFolder(path))
        return path

    def run(self, control: Control | None = None) -> "RunResult":
        """Train in the attached folder (attaching it first if need be) until the run ends; then
        what still waits for a next step (a steering request, a pause) is refused."""
        control = control or Control()
        path = self.attach()
        if path is not None and not (self.distributed is not None and self.distributed.enabled):
            self.inbox = Inbox(path, control).start()  # tui-trainer nudge, and the app following it
        status = "failed"
        try:
            result = self.trainer.run(control)
            status = result.status
            return result
        finally:
            self.close()
            control.close(f"the run ended ({status}) before its next step")

    def close(self) -> None:
        """Stop reading the inbox and let go of the folder (also after a refusal)."""
        if self.inbox is not None:
            self.inbox.stop()
            self.inbox = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def launch(config: Config | None = None, control: Control | None = None, **options: Any) -> "RunResult":
    """Resolve, prepare, attach and run in one call (see :class:`Launcher` for ``options``)."""
    return Launcher(config, **options).run(control)
