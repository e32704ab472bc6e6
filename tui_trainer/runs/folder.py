"""A run's folder: ``config.toml``, ``preprocessing.json``, ``metrics.jsonl``, ``last.pt``, ``best.pt``,
``summary.json``.

Checkpoints and the summary are written to a temporary file and renamed, so a crash
never leaves half a file. ``metrics.jsonl`` is flushed at every event but step
statistics, and at least once a second; a partial last line is skipped when read.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_write, atomic_write_text
from ..config import Config, dumps_config
from ..engine.events import Event, StepStats, event_from_dict, event_to_dict
from ..errors import UserError

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
LAST = "last.pt"
BEST = "best.pt"
PREPROCESSING = "preprocessing.json"
#: Step statistics reach metrics.jsonl at least this often, for `tui-trainer watch`.
FLUSH_SECONDS = 1.0


class RunFolderError(UserError):
    """The runs folder cannot be created or written."""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"


def unique_dir(parent: Path | str, name: str, what: str) -> Path:
    """Create and return ``<parent>/<YYYYmmdd-HHMMSS>-<name>``, with ``-1``, ``-2``... when
    that exists already (two runs started in the same second). ``what`` names it in errors."""
    parent = Path(parent)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            path = parent / f"{stamp}-{_slug(name)}{'' if n == 0 else f'-{n}'}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise RunFolderError(f"cannot create {what} in {parent}: {exc.strerror or exc}; "
                             "choose another with --runs-dir") from None
    raise RunFolderError(f"cannot find a free name for {what} in {parent}")


def snapshot(value: Any) -> Any:
    """A copy of a (nested) state dict whose tensors are on the CPU and no longer change
    with training, so it can be written while training goes on."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    return value


class RunFolder:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._metrics = None
        self._writes: queue.Queue | None = None
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        self._flushed = 0.0

    @classmethod
    def create(cls, runs_dir: Path | str, preset_name: str) -> "RunFolder":
        """A new folder ``<runs_dir>/<date>-<time>-<preset>`` (``-1``, ``-2``... if taken)."""
        return cls(unique_dir(runs_dir, preset_name, "a run folder"))

    def _guard(self, what: str, action):
        try:
            return action()
        except OSError as exc:
            raise RunFolderError(f"cannot write {self.path / what}: {exc.strerror or exc}") from None

    def write_config(self, config: Config) -> None:
        self._guard(CONFIG, lambda: atomic_write_text(self.path / CONFIG, dumps_config(config)))

    def write_preprocessing(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, indent=1, allow_nan=False) + "\n"
        self._guard(PREPROCESSING, lambda: atomic_write_text(self.path / PREPROCESSING, text))

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(summary, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n"
        self._guard(SUMMARY, lambda: atomic_write_text(self.path / SUMMARY, text))

    def save_checkpoint(self, kind: str, payload: dict[str, Any]) -> Path:
        import torch

        path = self.path / (LAST if kind == "last" else BEST)
        self._guard(path.name, lambda: atomic_write(path, lambda handle: torch.save(payload, handle)))
        return path

    def save_checkpoint_async(self, kind: str, payload: dict[str, Any]) -> Path:
        """Snapshot ``payload`` now and write it on a background thread, so the training
        loop does not wait for serialisation and fsync (1-3 % of an epoch of the CNN).
        Writes happen in order; :meth:`wait` blocks until all are on disk and raises the
        first error. Each file is renamed into place whole, so readers never see half."""
        self._raise_write_error()
        if self._writer is None:
            self._writes = queue.Queue()
            self._writer = threading.Thread(target=self._write_loop, name="checkpoint-writer", daemon=True)
            self._writer.start()
        self._writes.put((kind, snapshot(payload)))
        return self.path / (LAST if kind == "last" else BEST)

    def _write_loop(self) -> None:
        while True:
            kind, payload = self._writes.get()
            try:
                if self._write_error is None:
                    self.save_checkpoint(kind, payload)
            except BaseException as exc:  # reported by wait() on the training thread
                self._write_error = exc
            finally:
                self._writes.task_done()

    def _raise_write_error(self) -> None:
        if self._write_error is not None:
            error, self._write_error = self._write_error, None
            raise error

    def wait(self) -> None:
        """Block until every queued checkpoint is written; raise the first write error."""
        if self._writes is not None:
            self._writes.join()
        self._raise_write_error()

    # -- metrics.jsonl: the events, one a line ---------------------------------

    def sink(self, event: Event) -> None:
        if self._metrics is None:
            self._metrics = self._guard(METRICS, lambda: open(self.path / METRICS, "a", encoding="utf-8"))
        line = json.dumps(event_to_dict(event), separators=(",", ":"))
        self._guard(METRICS, lambda: self._metrics.write(line + "\n"))
        now = time.monotonic()
        if not isinstance(event, StepStats) or now - self._flushed >= FLUSH_SECONDS:
            self._guard(METRICS, self._metrics.flush)
            self._flushed = now

    def metrics_offset(self) -> int:
        """Flush ``metrics.jsonl`` and return its length: the point a resume truncates it back to."""
        if self._metrics is None:
            try:
                return (self.path / METRICS).stat().st_size
            except FileNotFoundError:
                return 0
        self._guard(METRICS, self._metrics.flush)
        return self._metrics.tell()

    def events_after(self, offset: int) -> list[Event]:
        """The whole events written after ``offset`` (a partial last line is left out)."""
        if self._metrics is not None:
            self._guard(METRICS, self._metrics.flush)
        try:
            with open(self.path / METRICS, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        events = []
        for line in data[: data.rfind(b"\n") + 1].splitlines():
            try:
                events.append(event_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue
        return events

    def truncate_metrics(self, offset: int) -> None:
        """Drop the events written after ``offset`` (those of steps a resume will run again)."""
        path = self.path / METRICS
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if path.exists() and path.stat().st_size > offset:
            self._guard(METRICS, lambda: os.truncate(path, offset))

    def close(self) -> None:
        self.wait()
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None


def read_events(path: Path | str) -> Iterator[Event]:
    """The events of a ``metrics.jsonl`` (or of the run folder holding it).
    A partial or garbled line (a run killed mid-write) is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break  # the writer died mid-line
            try:
                yield event_from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue


def read_summary(path: Path | str) -> dict[str, Any]:
    with open(Path(path) / SUMMARY, encoding="utf-8") as handle:
        return json.loads(handle.read())
