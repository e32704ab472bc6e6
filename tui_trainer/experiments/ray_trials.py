"""Trials as Ray tasks (``--ray [ADDRESS]``): a local Ray, or a cluster whose nodes share the
runs folder. Each trial is an ordinary run folder trained by :func:`~.trials.train_in_folder`,
so a task retried after its worker died resumes from its ``last.pt``; the experiment's ``STOP``
file reaches the tasks on every node.

Ray is an optional extra (``pip install 'tui-trainer[ray]'``); nothing here imports it until
:class:`RayTrials` is made.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

from ..config import config_to_dict, replace
from ..errors import UserError
from .trials import Job, OnDone, Trials, train_task, request_stop


class RayTrials(Trials):
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

    def map(self, jobs: list[Job], folder: Path, on_done: OnDone, should_stop: Callable[[], bool],
            poll: Callable[[], None] | None = None) -> None:
        """As :meth:`Trials.map`; a stop writes ``STOP``, which the running tasks obey."""
        ray = self.ray
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
                task = ray.remote(num_cpus=threads, max_retries=self.retries, retry_exceptions=False)(train_task)
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
