"""``tui-trainer nudge RUN``: reaching a headless run through its folder, with no network port.

``nudge`` writes a request, ``nudges/<time>-<id>.json`` in the run folder (atomically), and
waits for its answer, ``<the same name>.reply.json``. The training process polls the folder
4 times a second in a thread (:class:`Inbox`), hands each request to the run's Control, and
the loop applies or refuses it at its next step boundary and answers.

A request ``{"control": "stop" | "pause" | "resume" | "sample"}`` (:func:`send_control`) acts on
the run itself rather than its settings, and is answered at once: the app's keys reach a run
that another process trains (one left training by an earlier app) this way.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text

NUDGES = "nudges"
CONTROLS = ("stop", "pause", "resume", "sample")


def send(run_dir: Path, changes: dict[str, Any]) -> Path:
    folder = Path(run_dir) / NUDGES
    folder.mkdir(exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
    atomic_write_text(path, json.dumps(changes) + "\n")
    return path


def send_control(run_dir: Path, action: str, reason: str = "") -> Path:
    """Ask the run in ``run_dir`` to stop (saving ``last.pt``), pause, resume, or sample text."""
    if action not in CONTROLS:
        raise ValueError(f"unknown control {action!r}")
    return send(run_dir, {"control": action, "reason": reason})


def reply_path(request: Path) -> Path:
    return request.with_name(request.stem + ".reply.json")


def wait_reply(request: Path, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    answer = reply_path(request)
    while time.monotonic() < deadline:
        if answer.exists():
            try:
                return json.loads(answer.read_text(encoding="utf-8"))
            except ValueError:
                pass  # being written
        time.sleep(0.05)
    return None


class Inbox:
    """Polls ``run_dir/nudges`` for requests and passes them to ``control.steer``."""

    def __init__(self, run_dir: Path, control, interval: float = 0.25):
        self.folder, self.control, self.interval = Path(run_dir) / NUDGES, control, interval
        self.seen: set[str] = set()
        self.before: set[str] = set()  # requests already there when it started
        self._done = threading.Event()

    def start(self) -> "Inbox":
        if self.folder.is_dir():  # requests from before this process (a resume) are not this run's to answer
            self.before = {p.name for p in self.folder.glob("*.json")}
            self.seen.update(self.before)
        threading.Thread(target=self._loop, name="nudge-inbox", daemon=True).start()
        return self

    def stop(self, status: str = "") -> None:
        """Stop polling; a request the run did not get to is answered as refused."""
        self._done.set()
        for name in list(self.seen):
            request = self.folder / name
            if not reply_path(request).exists() and request.exists() and name not in self.before:
                self._answer(request, "refused",
                             f"the run ended{f' ({status})' if status else ''} before its next step", -1)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            if not self.folder.is_dir():
                continue
            for path in sorted(self.folder.glob("*.json")):
                if path.name in self.seen or path.name.endswith(".reply.json"):
                    continue
                self.seen.add(path.name)
                try:
                    changes = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    self._answer(path, "refused", f"unreadable request ({exc})", -1)
                    continue
                if not isinstance(changes, dict):
                    self._answer(path, "refused", "a request is a JSON object of settings", -1)
                    continue
                if "control" in changes:
                    self._control(path, changes)
                    continue
                self.control.steer(changes, "nudge", lambda status, detail, step,
                                   path=path: self._answer(path, status, detail, step))

    def _control(self, path: Path, request: dict[str, Any]) -> None:
        action, control = request.get("control"), self.control
        if action == "stop":
            control.stop(request.get("reason") or "stopped through its folder")
        elif action == "pause":
            control.pause()
        elif action == "resume":
            control.resume()
        elif action == "sample":
            control.request_sample()
        else:
            self._answer(path, "refused", f"unknown control {action!r}; one of {', '.join(CONTROLS)}", -1)
            return
        self._answer(path, "applied", {"stop": "stopping at the next step", "pause": "paused", "resume": "resumed",
                                       "sample": "a sample at the next step"}[action], -1)

    @staticmethod
    def _answer(path: Path, status: str, detail: str, step: int) -> None:
        atomic_write_text(reply_path(path), json.dumps({"status": status, "detail": detail, "step": step}) + "\n")
