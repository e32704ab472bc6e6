"""SIGINT and SIGTERM during training: stop at a step boundary, save, exit 130 or 143."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

from ..engine.commands import Stop
from ..engine.control import Control

#: The exit code of a run stopped by each signal (128 + its number, as shells report it).
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@contextmanager
def stop_on_signals(control: Control) -> Iterator[list[int]]:
    """While inside, SIGINT and SIGTERM ask ``control`` to stop after the current step (the
    run then writes ``last.pt`` and its summary); a second one ends the process at once.
    Yields the list of signals received, for :func:`exit_code`."""
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        received.append(signum)
        control.submit(Stop(f"interrupted by {signal.Signals(signum).name}"))
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once

    previous = {s: signal.signal(s, on_signal) for s in EXIT_CODES}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def exit_code(received: list[int]) -> int | None:
    """The exit code for the first signal received, or None."""
    return EXIT_CODES[signal.Signals(received[0])] if received else None
