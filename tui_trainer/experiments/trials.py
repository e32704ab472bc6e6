"""Where the trials of a sweep or an ablation train: in this process one after another (the
callers' own loops), or at once as Ray tasks (:class:`RayTrials`, ``--ray [ADDRESS]``).

Whatever runs it, a trial is an ordinary run folder with a known path, and
:func:`train_in_folder` decides from what the folder holds: a finished summary is kept, a
``last.pt`` is resumed, anything else trains from the start. So a Ray task retried after its
worker died goes on from its last checkpoint, and the same sweep run again skips what is done.

A ``STOP`` file in the sweep's (or ablation's) folder asks every trial to stop at its next
step boundary and save ``last.pt``: Ctrl-C writes it, and so does ``x`` in the app's Runs
view for a sweep another process is running. It is how the stop reaches Ray workers on other
nodes too, through the runs folder they share.

Ray is an optional extra (``pip install 'tui-trainer[ray]'``); nothing here imports it until
:class:`RayTrials` is made.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from ..config import Config, config_from_dict, config_to_dict, replace
from ..engine.commands import Stop
from ..errors import UserError

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


def _train_task(config: dict, path: str, folder: str) -> tuple[dict[str, Any], str]:
    """A Ray task: one trial, stopped by the sweep's ``STOP`` file."""
    from ..engine import Control

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


class ProcessTrials:
    """Trials on this machine: in up to ``jobs`` worker processes at once (spawned; each keeps
    its data in memory between trials), or in this process one after another when ``jobs`` is 1,
    under ``control`` (the caller's, for its signals). The same ``map`` as :class:`RayTrials`."""

    def __init__(self, jobs: int = 1, control: Any = None, quiet: bool = False):
        """``quiet``: the workers' standard output and error go to os.devnull (inside the app,
        whose screen is drawn on the terminal they would inherit)."""
        self.jobs, self.control, self.quiet = max(1, jobs), control, quiet

    def map(self, jobs: list[tuple[Any, Config, Path]], folder: Path,
            on_done: Callable[[Any, dict[str, Any], str], None], should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:
        clear_stop(folder)
        try:
            if self.jobs == 1:
                self._here(jobs, folder, on_done, should_stop)
            else:
                self._pool(jobs, folder, on_done, should_stop, poll)
        finally:
            clear_stop(folder)

    def _here(self, jobs, folder: Path, on_done, should_stop) -> None:
        from ..engine import Control

        for key, config, path in jobs:
            if should_stop():
                return
            control = self.control or Control()
            end_watch = watch_stop(Path(folder), control, Path(path))
            try:
                summary, how = train_in_folder(config, Path(path), control)
            finally:
                end_watch()
            on_done(key, summary, how)

    def _pool(self, jobs, folder: Path, on_done, should_stop, poll) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        _start_resource_tracker()
        with ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_silence if self.quiet else None) as pool:
            pending = {pool.submit(_train_task, config_to_dict(config), str(path), str(folder)): key for key, config,
                       path in jobs}
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


class RayTrials:
    """Trials as Ray tasks: ``ray.init()`` starts a local Ray instance (``address`` None) or
    joins a cluster (``"auto"`` or ``host:port``). Each trial asks for ``train.threads`` CPUs
    (1 when it is 0); ``max_concurrent`` caps how many train at once (default: as many as the
    CPUs allow). A task whose worker dies is retried up to ``retries`` times, resuming."""

    retries = 3

    def __init__(self, address: str | None, max_concurrent: int | None = None, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise UserError("--ray needs Ray: pip install 'tui-trainer[ray]' (or pip install 'ray[tune]')") from None
        import logging

        self.ray = ray
        if address and ":" in address:
            _reachable(address)
        if not ray.is_initialized():
            try:
                ray.init(address=address or None, num_cpus=None if address else num_cpus, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(f"--ray {address or ''}: cannot start or join "
                                f"Ray ({str(exc).splitlines()[0]})".replace("  ", " ")) from None
        self.max_concurrent = max_concurrent
        self.cpus = int(ray.cluster_resources().get("CPU", 1))

    def check_visible(self, folder: Path) -> None:
        """Every node of the cluster must see ``folder`` (the trials write there, the driver reads it)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        token = uuid.uuid4().hex
        probe = Path(folder) / f".visible-{token}"
        probe.write_text(token)
        try:
            look = self.ray.remote(num_cpus=0)(_read_probe)
            nodes = [n for n in self.ray.nodes() if n.get("Alive")]
            on = [NodeAffinitySchedulingStrategy(n["NodeID"], soft=False) for n in nodes]
            refs = [look.options(scheduling_strategy=node).remote(str(probe)) for node in on]
            seen = self.ray.get(refs, timeout=120)
        finally:
            probe.unlink(missing_ok=True)
        blind = [host for text, host in seen if text != token]
        if blind:
            raise UserError(f"--runs-dir: {Path(folder).resolve()} is not visible from "
                            f"{', '.join(sorted(set(blind)))}: on a cluster the runs folder must be on a filesystem "
                            "every node mounts at the same path (NFS, a shared volume)")

    def map(self, jobs: list[tuple[Any, Config, Path]], folder: Path,
            on_done: Callable[[Any, dict[str, Any], str], None], should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:
        """Train every ``(key, config, path)`` job; ``on_done(key, summary, how)`` as each ends.
        When ``should_stop()`` turns true, ``STOP`` is written and the running trials save and stop.
        ``poll()`` is called 5 times a second (a scheduler reading the trials' progress)."""
        ray = self.ray
        clear_stop(folder)
        queue = list(jobs)
        pending: dict[Any, Any] = {}
        cap = self.max_concurrent or len(queue) or 1
        stopping = False
        while queue or pending:
            if not stopping and should_stop():
                stopping = True
                request_stop(folder)
                queue.clear()
            while queue and len(pending) < cap:
                key, config, path = queue.pop(0)
                threads = config.train.threads or 1
                task = ray.remote(num_cpus=threads, max_retries=self.retries, retry_exceptions=False)(_train_task)
                config = replace(config, {"train.threads": threads})
                pending[task.remote(config_to_dict(config), str(path), str(folder))] = key
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            if poll is not None:
                poll()
            for ref in ready:
                key = pending.pop(ref)
                try:
                    summary, how = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the trial failed, or its worker died more often than retried
                    summary, how = {"status": "failed", "reason": str(exc).strip().splitlines()[-1][:300]}, "failed"
                on_done(key, summary, how)
        clear_stop(folder)


def _reachable(address: str) -> None:
    """Fail at once when nothing listens at ``[ray://]HOST:PORT`` (``ray.init`` would retry for minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        raise UserError(f"--ray {address}: nothing answers there ({exc.strerror or exc}); "
                        "start the cluster's head with `ray start --head` and give its address "
                        "(or --ray alone for a local Ray)") from None


def _read_probe(path: str) -> tuple[str | None, str]:
    import socket

    try:
        return Path(path).read_text(), socket.gethostname()
    except OSError:
        return None, socket.gethostname()
