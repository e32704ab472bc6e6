"""One writer per run folder: the process that trains a run holds an exclusive lock on its
``writer.lock`` for as long as it writes there.

The lock is the kernel's (``flock``), so it goes when its process goes, however it dies: a
folder whose lock nobody holds is not being written, whatever its files say. The file also
records who holds it (process id, host, when), so a refusal can name the process. Anyone can
ask :func:`holder` whether a run is training now (the Runs view, ``runs list``) without
disturbing it. Where ``fcntl`` is missing (Windows) there is no lock and every folder reads
as free.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK = "writer.lock"


class RunBusy(UserError):
    """Another process is training in this run folder."""


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _read(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def holder(run_dir: Path | str) -> dict[str, Any] | None:
    """Who writes ``run_dir`` now (``pid``, ``host``, ``since``, ``detached``), or None when nobody does."""
    path = Path(run_dir) / LOCK
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_lock(fd):  # free: let go at once (closing the descriptor releases it)
            return None
        return _read(path) or {"pid": None}
    finally:
        os.close(fd)


def describe(info: dict[str, Any]) -> str:
    where = f"process {info.get('pid')}"
    if info.get("host") and info["host"] != socket.gethostname():
        where += f" on {info['host']}"
    if info.get("since"):
        where += f" since {time.strftime('%H:%M:%S', time.localtime(info['since']))}"
    return where


def busy_message(run_dir: Path, info: dict[str, Any]) -> str:
    return (f"{run_dir} is being trained by {describe(info)}; stop it first (x where it shows live: the app "
            "that started it, or the app's Runs view; Ctrl-C where it runs headless), or follow it with "
            "tui-trainer watch")


def check_free(run_dir: Path | str) -> None:
    """Raise :class:`RunBusy` if another process trains in ``run_dir`` now."""
    info = holder(run_dir)
    if info is not None:
        raise RunBusy(busy_message(Path(run_dir), info))


class WriterLock:
    """The exclusive lock on a run folder, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, run_dir: Path | str):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None
        self.record: dict[str, Any] = {}

    def acquire(self) -> "WriterLock":
        """Take the lock, or raise :class:`RunBusy` naming the process that holds it."""
        if fcntl is None or self.fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise RunBusy(busy_message(self.path.parent, _read(self.path)))
        self.fd = fd
        self.record = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        self.note()
        return self

    def note(self, **info: Any) -> None:
        """Record who holds the lock (and anything else worth telling, e.g. ``detached``)."""
        if self.fd is None:
            return
        self.record.update(info)
        data = (json.dumps(self.record) + "\n").encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # the lock goes with the descriptor

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
