"""The worker's end: ``python -m tui_trainer.worker FD`` serves the app on the socket ``FD``.

Two threads: the main one imports torch, says it is ready, and runs the jobs (the training loop
runs here, in the process's main thread, as in ``tui-trainer train``); the listener receives
what the app sends (:mod:`.protocol`, dispatched by type) and submits its commands straight to
the job's :class:`~tui_trainer.engine.Control`, so a pause or a stop lands at the next step
whatever the main thread is doing. Events leave through :class:`Outbox`, a third, mostly
sleeping thread that sends them in batches.
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
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, Callable

from ..engine.commands import Resume, Stop
from ..engine.control import Control
from ..errors import UserError
from .jobs import JobSpec
from .protocol import (Describe, Described, Detach, Detached, Events, Finished, Loading, Prepared, Ready, Replied,
                       StartJob, Submit, Update, dispatch)

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

    def send(self, message: Any) -> None:
        with self._lock:
            self._flush()
            self._send(message)

    def _send(self, message: Any) -> None:
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
            self._send(Events(batch, first_at))

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(BATCH_SECONDS)
            self._wake.clear()
            with self._lock:
                self._flush()


class Worker:
    """The worker's state: the job in progress (its Control), and whether the app left it training.
    It is the :class:`~.jobs.Host` of every job."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.outbox = Outbox(conn)
        # for the main thread: work to do, each returning False when the process should end; None ends it
        self.requests: queue.Queue[Callable[[], bool] | None] = queue.Queue()
        self.control = Control()  # the job in progress: the app's commands reach it, even before it starts
        self.launcher = None  # the launcher of the run in progress (its lock is noted on detach)
        self.detached = False

    # -- the host of the jobs -----------------------------------------------------------------

    def send(self, message: Any) -> None:
        self.outbox.send(message)

    def event(self, event: Any) -> None:
        self.outbox.event(event)

    def loading(self, label: str, done: int, total: int | None) -> None:
        self.send(Loading(label, done, total))

    def prepared(self, can_sample: bool) -> None:
        self.send(Prepared(can_sample))

    def update(self, value: Any) -> None:
        self.send(Update(value))

    def attached(self, launcher: Any) -> None:
        """The run has its folder (and its lock), or has ended (None): say there whether it was left training."""
        self.launcher = launcher
        if self.detached and launcher is not None and launcher.lock is not None:
            launcher.lock.note(detached=True)

    # -- the listener thread: the app's messages ------------------------------------------------

    def listen(self) -> None:
        """The app's messages until its end of the socket closes."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            dispatch(self, message)
        if not self.detached:  # the app closed or died without leaving the run training: stop it, resumable
            self.control.submit(Stop("the app closed"))
        self.requests.put(None)

    def got_start_job(self, message: StartJob) -> None:
        self.control = Control()  # what follows the job, even before it starts, is its own
        self.requests.put(partial(self._run, message.job))

    def got_describe(self, message: Describe) -> None:
        self.requests.put(partial(self._describe, message))

    def got_submit(self, message: Submit) -> None:
        token = message.token
        reply = None if token is None else (lambda *answer: self.send(Replied(token, *answer)))
        self.control.submit(message.command, reply)

    def got_detach(self, _message: Detach) -> None:
        """Leave the job training with nobody listening; the process ends with it."""
        self.detached = True  # first: a run attaching its folder now notes it itself (attached())
        launcher = self.launcher
        path = launcher.path if launcher is not None else None
        if launcher is not None and launcher.lock is not None:
            launcher.lock.note(detached=True)
        self.control.submit(Resume())  # a run left paused would wait for nobody
        self.send(Detached(str(path) if path else None))
        self.outbox.muted = True

    # -- the main thread ------------------------------------------------------------------------

    def serve(self) -> None:
        from .describe import torch_info

        self.send(Ready({**torch_info(), "pid": os.getpid()}))
        while (work := self.requests.get()) is not None:
            if not work():
                return

    def _describe(self, message: Describe) -> bool:
        from .describe import describe

        try:
            described = describe(message.config, message.threads)
        except Exception as exc:  # noqa: BLE001 - shown beside the settings, never fatal
            described = {"text": f"[red]{type(exc).__name__}: {exc}[/]", "mixed_precision": None}
        self.send(Described(message.token, described))
        return True

    def _run(self, job: JobSpec) -> bool:
        """Run a job and say it finished; False once the run left training has ended (or nobody listens)."""
        if self.detached:
            return False  # a job sent as the app left: nobody would see it
        result, error = None, None
        try:
            result = job.run(self)
        except UserError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: one line to the app, the traceback to the log
            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}"
        self.send(Finished(result, error))
        return not self.detached


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    conn = Connection(int(argv[0]))
    worker = Worker(conn)

    def on_term(*_: Any) -> None:  # kill <pid>: the run saves and stops, as train's does; then the process ends
        worker.control.submit(Stop("stopped by SIGTERM"))
        worker.requests.put(None)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # in a session of its own; never the app's Ctrl-C
    threading.Thread(target=worker.listen, name="listener", daemon=True).start()
    worker.serve()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the daemon threads (outbox, inbox) need no goodbye
