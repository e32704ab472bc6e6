"""A thread-safe handle to a live run: commands (:mod:`.commands`) are submitted to it from any
thread, and the training loop reads them between steps.

:meth:`Control.submit` is the one way in: the app's worker, a run folder's inbox, a trial's stop
files and the signal handlers all decode what they receive into a command and submit it here.
A stop, a resume and a sample request are answered at once; a pause once the loop waits in it;
a steering request at the step boundary that applies or refuses it. What is still waiting when
the run ends is answered by :meth:`Control.close`.

The runs of an experiment (an ablation's, a lab's) each get a :meth:`Control.child`: a stop of
the experiment's control stops the run in progress too, and a run stopped alone (pruned) leaves
the others be.
"""

from __future__ import annotations

import threading
import time
import weakref

from .commands import Command, Pause, Reply, Resume, Sample, Steer, Stop


class Control:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.held = threading.Event()  # set while the loop waits in a pause: the pause has provably begun
        self.reason = ""
        self.status = "stopped"  # how a stopped run ends: "stopped" (resumable), or "pruned" by a sweep's scheduler
        self._sample = False
        self._changes: list[tuple[dict, str, Reply | None]] = []  # steering requests, oldest first
        self._pauses: list[Reply] = []  # pauses asked for, answered once the loop waits in one
        self._lock = threading.Lock()
        self._children: weakref.WeakSet[Control] = weakref.WeakSet()

    def submit(self, command: Command, reply: Reply | None = None) -> None:
        """Hand a command to the run; ``reply(status, detail, step)`` hears its answer (maybe from
        the training thread)."""
        _HANDLERS[type(command)](self, command, reply)

    def child(self) -> Control:
        """A control for one run of an experiment: stopped with this one (and at once if it is)."""
        child = Control()
        with self._lock:
            self._children.add(child)
        if self._stop.is_set():
            child.submit(Stop(self.reason, self.status))
        return child

    def close(self, why: str) -> None:
        """The run is over: refuse, with ``why``, what waits for its next step."""
        with self._lock:
            changes, self._changes = self._changes, []
            pauses, self._pauses = self._pauses, []
        for reply in [r for _, _, r in changes if r is not None] + pauses:
            reply("refused", why, -1)

    # -- the commands ---------------------------------------------------------------------

    def _stop_run(self, command: Stop, reply: Reply | None) -> None:
        with self._lock:
            if not self._stop.is_set():
                self.reason, self.status = command.reason, command.status
            self._stop.set()
            self._running.set()  # a paused run must wake up to stop
            children = list(self._children)
        for child in children:
            child.submit(command)
        if reply is not None:
            reply("applied", "stopping at the next step", -1)

    def _pause(self, _command: Pause, reply: Reply | None) -> None:
        with self._lock:
            stopping = self._stop.is_set()
            if not stopping:
                self._running.clear()
                if reply is not None:
                    self._pauses.append(reply)
        if stopping and reply is not None:
            reply("refused", "the run is stopping", -1)

    def _resume(self, _command: Resume, reply: Reply | None) -> None:
        with self._lock:
            self._running.set()
            pauses, self._pauses = self._pauses, []  # taken back before the loop got to them
        for waiting in pauses:
            waiting("refused", "resumed before the pause began", -1)
        if reply is not None:
            reply("applied", "resumed", -1)

    def _ask_sample(self, _command: Sample, reply: Reply | None) -> None:
        self._sample = True
        if reply is not None:
            reply("applied", "a sample at the next step", -1)

    def _steer(self, command: Steer, reply: Reply | None) -> None:
        with self._lock:
            self._changes.append((dict(command.changes), command.source, reply))

    # -- what the training loop reads --------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def waiting(self) -> bool:
        """Something to do at the next step boundary: a steering request or a sample."""
        return self._sample or bool(self._changes)

    def take_sample_request(self) -> bool:
        """Whether a sample was asked for since the last call (and forget the request)."""
        asked, self._sample = self._sample, False
        return asked

    def take_changes(self) -> list[tuple[dict, str, Reply | None]]:
        with self._lock:
            taken, self._changes = self._changes, []
        return taken

    def wait_while_paused(self) -> float:
        """Block while paused (with :attr:`held` set, and the pause answered); return the seconds waited."""
        start = time.perf_counter()
        with self._lock:
            pausing = not self._running.is_set()
            if pausing:
                self.held.set()
                pauses, self._pauses = self._pauses, []
        if pausing:
            for reply in pauses:
                reply("applied", "paused", -1)
            self._running.wait()
            self.held.clear()
        return time.perf_counter() - start


_HANDLERS = {Stop: Control._stop_run, Pause: Control._pause, Resume: Control._resume, Sample: Control._ask_sample,
             Steer: Control._steer}
