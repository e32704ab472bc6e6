"""The worker's end: ``python -m tui_trainer.worker FD`` serves the app on the socket ``FD``.

Two threads: the main one imports torch, says it is ready, and runs the jobs (the training loop
runs here, in the process's main thread, as in ``tui-trainer train``); the listener receives
what the app sends and passes the controls straight to the job's :class:`~tui_trainer.engine.Control`,
so a pause or a stop lands at the next step whatever the main thread is doing. Events leave
through :class:`Outbox`, a third, mostly sleeping thread that sends them in batches.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from ..engine.control import Control
from ..errors import UserError

#: Events wait at most this long to travel with the ones after them.
BATCH_SECONDS = 0.02


class Outbox:
    """Messages to the app, from any thread. Events (the engine's sink, on the training thread)
    are queued and sent in batches by a thread of their own, so the training loop never waits
    on the socket; other messages are sent at once, after the events queued before them."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.events: deque[Any] = deque()  # appended on the training thread, emptied here: both atomic
        self.first_at = 0.0  # when the oldest waiting event was emitted (time.time(), for the app's clock)
        self.muted = False  # detached: nobody listens, the run folder is the record
        self._lock = threading.Lock()
        self._wake = threading.Event()
        threading.Thread(target=self._loop, name="outbox", daemon=True).start()

    def event(self, event: Any) -> None:
        if not self.muted:
            if not self.events:
                self.first_at = time.time()
            self.events.append(event)
            self._wake.set()

    def send(self, *message: Any) -> None:
        with self._lock:
            self._flush()
            self._send(message)

    def _send(self, message: tuple) -> None:
        if self.muted:
            return
        try:
            self.conn.send(message)
        except (OSError, ValueError):  # the app is gone: the listener sees it too, and decides
            self.muted = True

    def _flush(self) -> None:
        if self.events:
            first_at, batch = self.first_at, []
            while self.events:
                batch.append(self.events.popleft())
            self._send(("events", batch, first_at))

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(BATCH_SECONDS)
            self._wake.clear()
            with self._lock:
                self._flush()


class Worker:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.outbox = Outbox(conn)
        self.requests: queue.Queue = queue.Queue()  # jobs and descriptions, for the main thread; None ends it
        self.control: Control | None = None  # the run that trains now (the app's keys reach it)
        # the next job's first Control, made as the job arrives: keys pressed before it starts count
        self.fresh: Control | None = None
        self.stop_requested = False  # the job as a whole (an ablation between its runs)
        self.stop_reason = ""
        self.launcher = None  # the launcher of the run in progress (its lock is noted on detach)
        self.detached = False

    # -- the app's end --------------------------------------------------------------------

    def send(self, *message: Any) -> None:
        self.outbox.send(*message)

    def event(self, event: Any) -> None:
        self.outbox.event(event)

    def loading(self, label: str, done: int, total: int | None) -> None:
        self.send("loading", label, done, total)

    def new_run_control(self) -> Control:
        """The Control of the job's next run; stopped at once when the job was asked to stop."""
        self.control, self.fresh = self.fresh or Control(), None
        if self.stop_requested:
            self.control.stop(self.stop_reason)
        return self.control

    def stop(self, reason: str) -> None:
        self.stop_requested, self.stop_reason = True, reason
        if self.control is not None:
            self.control.stop(reason)

    def listen(self) -> None:
        """The listener thread: the app's messages until its end of the socket closes."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            kind, args = message[0], message[1:]
            control = self.control
            if kind == "job":  # what follows it, even before it starts, is its own
                self.stop_requested, self.stop_reason = False, ""
                self.control = self.fresh = Control()
                self.requests.put(message)
            elif kind == "describe":
                self.requests.put(message)
            elif kind == "stop":
                self.stop(args[0])
            elif kind == "detach":
                self.detach()
            elif control is None:
                continue  # a key pressed as the job ended
            elif kind == "pause":
                control.pause()
                threading.Thread(target=self._tell_held, args=(control,), name="held", daemon=True).start()
            elif kind == "resume":
                control.resume()
            elif kind == "sample":
                control.request_sample()
            elif kind == "steer":
                changes, token = args
                control.steer(changes, "app", lambda *answer, token=token: self.send("steered", token, *answer))
        if not self.detached:  # the app closed or died without leaving the run training: stop it, resumable
            self.stop("the app closed")
        self.requests.put(None)

    def _tell_held(self, control: Control) -> None:
        """Say ``("held", paused)`` once the loop waits in the pause (or the pause was taken back)."""
        while control.paused and not control.held.wait(0.1):
            pass
        self.send("held", control.held.is_set())

    def attached(self, launcher: Any) -> None:
        """The run has its folder (and its lock): say there whether it was left training."""
        self.launcher = launcher
        if self.detached and launcher.lock is not None:
            launcher.lock.note(detached=True)

    def detach(self) -> None:
        """Leave the job training with nobody listening; the process ends with it."""
        self.detached = True  # first: a run attaching its folder now notes it itself (attached())
        launcher = self.launcher
        path = launcher.path if launcher is not None else None
        if launcher is not None and launcher.lock is not None:
            launcher.lock.note(detached=True)
        if self.control is not None:
            self.control.resume()  # a run left paused would wait for nobody
        self.send("detached", str(path) if path else None)
        self.outbox.muted = True

    # -- the main thread ----------------------------------------------------------------

    def serve(self) -> None:
        from .describe import describe, torch_info
        from .jobs import run_job

        self.send("ready", {**torch_info(), "pid": os.getpid()})
        while True:
            message = self.requests.get()
            if message is None:
                return
            kind = message[0]
            if kind == "describe":
                _, config, threads, token = message
                try:
                    self.send("described", token, describe(config, threads))
                except Exception as exc:  # noqa: BLE001 - shown beside the settings, never fatal
                    shown = {"text": f"[red]{type(exc).__name__}: {exc}[/]", "mixed_precision": None}
                    self.send("described", token, shown)
                continue
            if self.detached:
                return  # a job sent as the app left: nobody would see it
            job = message[1]
            try:
                outcome = run_job(job, self)
            except UserError as exc:
                outcome = {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - a bug: one line to the app, the traceback to the log
                traceback.print_exc()
                outcome = {"error": f"{type(exc).__name__}: {exc}"}
            self.control = None
            self.send("finished", outcome)
            if self.detached:
                return  # the run that was left training has ended


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    conn = Connection(int(argv[0]))
    worker = Worker(conn)

    def on_term(*_: Any) -> None:  # kill <pid>: the run saves and stops, as train's does; then the process ends
        worker.stop("stopped by SIGTERM")
        worker.requests.put(None)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # in a session of its own; never the app's Ctrl-C
    threading.Thread(target=worker.listen, name="listener", daemon=True).start()
    worker.serve()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the daemon threads (outbox, inbox) need no goodbye
