"""A run's inbox: reaching a run through its folder, with no network port (``tui-trainer nudge``,
and the app following a run another process trains).

A request is a command (:mod:`tui_trainer.engine.commands`) as JSON, written atomically as
``nudges/<time>-<id>.json`` in the run folder by :func:`send`; its answer is
``<the same name>.reply.json``, which :func:`wait_reply` waits for. The training process polls
the folder 4 times a second in a thread (:class:`Inbox`), decodes each request and submits it
to the run's Control; the answer is written when the Control gives it (a stop at once, a
steering request at the next step boundary). A steering request through the folder is recorded
as coming from ``nudge``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..engine.commands import Command, Steer, from_json, to_json

NUDGES = "nudges"


def send(run_dir: Path, command: Command) -> Path:
    """Write ``command`` into the inbox of the run in ``run_dir``; the request's path (see :func:`wait_reply`)."""
    folder = Path(run_dir) / NUDGES
    folder.mkdir(exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
    atomic_write_text(path, json.dumps(to_json(command)) + "\n")
    return path


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
    """Polls ``run_dir/nudges`` for requests and submits them to ``control``."""

    def __init__(self, run_dir: Path, control, interval: float = 0.25):
        self.folder, self.control, self.interval = Path(run_dir) / NUDGES, control, interval
        self.seen: set[str] = set()
        self._done = threading.Event()

    def start(self) -> "Inbox":
        if self.folder.is_dir():  # requests from before this process (a resume) are not this run's to answer
            self.seen.update(p.name for p in self.folder.glob("*.json"))
        threading.Thread(target=self._loop, name="nudge-inbox", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop polling (what the run did not get to is answered by its Control's ``close``)."""
        self._done.set()

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            if not self.folder.is_dir():
                continue
            for path in sorted(self.folder.glob("*.json")):
                if path.name in self.seen or path.name.endswith(".reply.json"):
                    continue
                self.seen.add(path.name)
                try:
                    command = from_json(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError) as exc:
                    self._answer(path, "refused", f"unreadable request ({exc})", -1)
                    continue
                if isinstance(command, Steer):
                    command = dataclasses.replace(command, source="nudge")
                self.control.submit(command, lambda status, detail, step, path=path:
                                    self._answer(path, status, detail, step))

    @staticmethod
    def _answer(path: Path, status: str, detail: str, step: int) -> None:
        atomic_write_text(reply_path(path), json.dumps({"status": status, "detail": detail, "step": step}) + "\n")
