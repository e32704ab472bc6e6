"""Where the runs of an experiment train (its trials), all with one interface (:class:`Trials`):
in this process one after another (:class:`InProcessTrials`), at once in a pool of worker
processes (:class:`ProcessPoolTrials`), or as Ray tasks (:class:`~.ray_trials.RayTrials`,
``--ray [ADDRESS]``).

Whatever runs it, a trial is an ordinary run folder with a known path, and
:func:`train_in_folder` decides from what the folder holds: a finished summary is kept, a
``last.pt`` is resumed, anything else trains from the start. So a Ray task retried after its
worker died goes on from its last checkpoint, and the same sweep run again skips what is done.

A ``STOP`` file in the sweep's (or ablation's) folder asks every trial to stop at its next
step boundary and save ``last.pt``: Ctrl-C writes it, and so does ``x`` in the app's Runs
view for a sweep another process is running. It is how the stop reaches Ray workers on other
nodes too, through the runs folder they share.

A stop file is one channel of a run's control: it decodes into a
:class:`~tui_trainer.engine.commands.Stop` submitted to the trial's Control.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any, Callable

from ..config import Config, config_from_dict, config_to_dict
from ..engine.commands import Stop
from ..engine.control import Control

STOP = "STOP"
FINISHED = ("completed", "early_stopped", "diverged", "pruned")  # a sweep run again leaves these as they are
PRUNE = "PRUNE"


def stop_file(folder: Path) -> Path:
    return Path(folder) / STOP


def request_stop(folder: Path) -> None:
    """Ask the trials of the sweep or ablation in ``folder`` to stop (and keep their folders resumable)."""
    stop_file(folder).write_text("stop requested\n")


def clear_stop(folder: Path) -> None:
    stop_file(folder).unlink(missing_ok=True)


def finished_summary(path: Path) -> dict[str, Any] | None:
    try:
        summary = json.loads((Path(path) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if summary.get("status") in FINISHED else None


def resumable(path: Path) -> bool:
    """A trial folder left by a stopped or killed run, with a checkpoint to go on from. One
    without (it died before its first checkpoint) is cleared, to train from the start."""
    from ..runs.lock import check_free

    path = Path(path)
    if not path.exists():
        return False
    check_free(path)  # another process trains it now (the same sweep started twice): leave it be
    if (path / "last.pt").exists():
        return True
    shutil.rmtree(path)
    return False


def watch_stop(folder: Path, control, trial: Path | None = None,
               poll: Callable[[], None] | None = None) -> Callable[[], None]:
    """Stop ``control`` when ``STOP`` appears in ``folder``, or prune it when ``PRUNE`` appears in
    the ``trial``'s own folder (checked 5 times a second, off the training thread, which also
    calls ``poll``: a scheduler reading the trials' progress); returns the function that ends the watch."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if poll is not None:
                poll()
            if stop_file(folder).exists():
                control.submit(Stop("the sweep was asked to stop"))
                return
            if trial is not None and (trial / PRUNE).exists():
                control.submit(Stop((trial / PRUNE).read_text().strip() or "pruned", status="pruned"))
                return

    threading.Thread(target=watch, name="stop-file", daemon=True).start()
    return done.set


def train_in_folder(config: Config, path: Path, control, sinks: tuple = ()) -> tuple[dict[str, Any], str]:
    """Train ``config`` in the run folder ``path``; return its summary and how: "skipped" (it
    had finished), "resumed" (from its ``last.pt``) or "trained". Data is loaded once per
    process and data setting (the launcher's cache)."""
    from ..launcher import launch

    path = Path(path)
    if (finished := finished_summary(path)) is not None:
        return finished, "skipped"
    if resumable(path):
        return launch(resume=path, control=control, sinks=sinks).summary, "resumed"
    return launch(config, control, folder=path, sinks=sinks).summary, "trained"


def train_task(config: dict, path: str, folder: str) -> tuple[dict[str, Any], str]:
    """A Ray task: one trial, stopped by the sweep's ``STOP`` file."""
    control = Control()
    end_watch = watch_stop(Path(folder), control, Path(path))
    try:  # Ctrl-C in the driver's terminal may reach a local worker too: stop at a step, as the driver asks
        previous = signal.signal(signal.SIGINT, lambda *_: control.submit(Stop("interrupted by SIGINT")))
    except ValueError:  # not the main thread
        previous = None
    try:
        return train_in_folder(config_from_dict(config, "<sweep>"), Path(path), control)
    finally:
        end_watch()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _silence() -> None:
    """A worker's standard output and error to os.devnull (its results travel back pickled)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _start_resource_tracker() -> None:
    """multiprocessing's resource tracker hands ``sys.stderr``'s file descriptor to its process.
    Inside the Textual app ``sys.stderr`` is a capture whose ``fileno()`` is -1, and spawning
    fails ("bad value(s) in fds_to_keep"): there the tracker starts with stderr on os.devnull."""
    import sys
    from multiprocessing import resource_tracker

    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return
    except (AttributeError, OSError, ValueError):
        return  # no fileno at all: the tracker leaves stderr out by itself
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


Job = tuple[Any, Config, Path]  # (key, config, the run's folder)
OnDone = Callable[[Any, dict[str, Any], str], None]  # (key, summary, how)


class Trials:
    """Where the runs of an experiment train."""

    def check_visible(self, folder: Path) -> None:
        """Every place that trains them must see ``folder`` (a cluster's nodes); here it does."""

    def map(self, jobs: list[Job], folder: Path, on_done: OnDone, should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:  # pragma: no cover - each says
        """Train every ``(key, config, path)`` job; ``on_done(key, summary, how)`` as each ends.
        When ``should_stop()`` turns true, no other job starts and the running ones save and stop.
        ``poll()`` is called about 5 times a second (a scheduler reading the trials' progress)."""
        raise NotImplementedError


class InProcessTrials(Trials):
    """One trial after another in this process, on data loaded once (the launcher's cache). Each
    trial's Control is a child of ``control`` (the caller's: its signals, the app's stop), so a
    trial pruned alone leaves the next ones be; ``sinks`` see every event."""

    def __init__(self, control: Control | None = None, sinks: tuple = ()):
        self.control, self.sinks = control or Control(), tuple(sinks)

    def map(self, jobs: list[Job], folder: Path, on_done: OnDone, should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:
        for key, config, path in jobs:
            if should_stop():
                return
            control = self.control.child()
            end_watch = watch_stop(Path(folder), control, Path(path), poll)  # STOP (the app's x), PRUNE
            try:
                summary, how = train_in_folder(config, Path(path), control, self.sinks)
            finally:
                end_watch()
            on_done(key, summary, how)


class ProcessPoolTrials(Trials):
    """Up to ``jobs`` trials at once in worker processes (spawned; each keeps its data in memory
    between trials). A stop reaches them through the experiment's ``STOP`` file."""

    def __init__(self, jobs: int, quiet: bool = False):
        """``quiet``: the workers' standard output and error go to os.devnull (inside the app,
        whose screen is drawn on the terminal they would inherit)."""
        self.jobs, self.quiet = max(1, jobs), quiet

    def map(self, jobs: list[Job], folder: Path, on_done: OnDone, should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        _start_resource_tracker()
        with ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_silence if self.quiet else None) as pool:
            pending = {pool.submit(train_task, config_to_dict(config), str(path), str(folder)): key
                       for key, config, path in jobs}
            stopping = False
            while pending:
                if not stopping and should_stop():
                    stopping = True
                    request_stop(folder)  # the running trials save at a step; the others never start
                    for future in pending:
                        future.cancel()
                done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                if poll is not None:
                    poll()
                for future in done:
                    key = pending.pop(future)
                    if future.cancelled():
                        continue
                    try:
                        summary, how = future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker that died (killed, or Ctrl-C while it started)
                        if stopping:
                            continue  # not finished: the same command again trains it
                        summary, how = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300]}, "failed"
                    on_done(key, summary, how)


def local_trials(jobs: int, control: Control | None = None, quiet: bool = False) -> Trials:
    """``jobs`` trials at once in processes of this machine, or one after another in this one."""
    return InProcessTrials(control) if jobs <= 1 else ProcessPoolTrials(jobs, quiet)
