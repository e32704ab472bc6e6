"""A thread-safe handle to pause, resume and stop a run between steps, and to ask it for a text sample."""

from __future__ import annotations

import threading
import time
from typing import Callable


class Control:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.held = threading.Event()  # set while the loop waits in a pause: the pause has provably begun
        self.reason = ""
        self.status = "stopped"  # how a stopped run ends: "stopped" (resumable), or "pruned" by a sweep's scheduler
        self._sample = threading.Event()
        self._changes: list[tuple[dict, str, Callable | None]] = []  # steering requests, oldest first
        self._lock = threading.Lock()

    def stop(self, reason: str = "stopped by the user", status: str = "stopped") -> None:
        if not self._stop.is_set():
            self.reason, self.status = reason, status
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def request_sample(self) -> None:
        """Ask a language model's run for a text sample at its next step boundary."""
        self._sample.set()

    def take_sample_request(self) -> bool:
        """Whether a sample was asked for since the last call (and forget the request)."""
        if not self._sample.is_set():
            return False
        self._sample.clear()
        return True

    def steer(self, changes: dict, source: str = "app", reply: Callable[[str, str, int], None] | None = None) -> None:
        """Ask the run to change settings at its next step boundary (see :mod:`.steering`);
        ``reply(status, detail, step)`` hears "applied" or "refused" and why, from the training thread."""
        with self._lock:
            self._changes.append((dict(changes), source, reply))

    @property
    def changes_waiting(self) -> bool:
        return bool(self._changes)

    def take_changes(self) -> list[tuple[dict, str, Callable | None]]:
        with self._lock:
            taken, self._changes = self._changes, []
        return taken

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused (with :attr:`held` set); return the seconds waited."""
        start = time.perf_counter()
        if not self._running.is_set():
            self.held.set()
            self._running.wait()
            self.held.clear()
        return time.perf_counter() - start
