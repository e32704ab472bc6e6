"""The app's end of its worker process (see :mod:`tui_trainer.worker`). No torch here.

:class:`WorkerClient` starts ``python -m tui_trainer.worker FD`` in a session of its own (a
terminal's Ctrl-C or hang-up never reaches it; a run left training outlives the app), reads
its messages (:mod:`.protocol`) on a thread of its own and hands each to ``on_message``; when the
worker ends without being asked (killed, out of memory), it hands over a :class:`~.protocol.Gone`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from .protocol import Gone, Ready

#: The folder holding the ``tui_trainer`` package, put first on the worker's path.
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def how_it_ended(returncode: int | None) -> str:
    """A worker's exit, in words."""
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"it was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    return f"it exited with code {returncode}"


class WorkerClient:
    def __init__(self, on_message: Callable[[Any], None]):
        self.on_message = on_message
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self._sock: socket.socket | None = None
        self.log = None  # the worker's stderr: a traceback, if it ever prints one
        self.info: dict[str, Any] | None = None  # from its Ready message: torch's version, the device
        self._closing = False
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> "WorkerClient":
        ours, theirs = socket.socketpair()
        self.log = tempfile.TemporaryFile(prefix="tui-trainer-worker-")
        path = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        fd = theirs.fileno()
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "tui_trainer.worker", str(fd)], pass_fds=(fd,),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
                                         env={**os.environ, "PYTHONPATH": path}, start_new_session=True)
        finally:
            theirs.close()
        self._sock = ours  # shut down by close(), which wakes the reader and tells the worker
        self.conn = Connection(os.dup(ours.fileno()))
        threading.Thread(target=self._read, name="worker-reader", daemon=True).start()
        return self

    def send(self, message: Any) -> bool:
        """Send a message; False when the worker is gone (its end is reported by the reader)."""
        if self.conn is None or self._closing:
            return False
        try:
            with self._send_lock:
                self.conn.send(message)
            return True
        except (OSError, ValueError):
            return False

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: close() closed the connection under it
                break
            if type(message) is Ready:
                self.info = message.info
            self.on_message(message)
        if self._closing:
            return
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.on_message(Gone(code, self.last_line()))

    def last_line(self) -> str:
        """The last line the worker wrote on its stderr (the end of a traceback), or ''."""
        if self.log is None:
            return ""
        try:
            self.log.seek(0)
            lines = [line for line in self.log.read().decode(errors="replace").splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1].strip() if lines else ""

    def close(self) -> None:
        """Let go of the worker: an idle one ends; one running a job stops it (resumable), unless
        the job was detached, which then trains on alone."""
        self._closing = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        if self.log is not None:
            self.log.close()
            self.log = None
