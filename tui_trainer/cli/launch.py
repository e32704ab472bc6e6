"""``train --nproc N``: one run over N processes on this machine, started through torch's
launcher API (``torch.distributed.launcher.api.elastic_launch``), exactly as
``torchrun --standalone --nproc-per-node N -m tui_trainer train ...`` starts it.

The launcher passes SIGINT and SIGTERM on to the processes (each started in its own session,
so a terminal's Ctrl-C reaches them once, through it); they stop together at a step
boundary and process 0 writes ``last.pt``. A process that dies takes the others down (the
launcher stops them); this module turns torch's report of that into one line.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import uuid
from pathlib import Path

import click

#: Where process 0 writes its run folder's path, so the launcher can name it in its messages.
RUN_DIR_FILE = "TUI_TRAINER_RUN_DIR_FILE"


def worker_args(ctx: click.Context, leave_out: tuple[str, ...] = ("nproc",)) -> list[str]:
    """The ``train`` command line of ``ctx`` again, without ``--nproc``: what each process runs."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name in leave_out or value is None or value == param.default or value == []:
            continue
        if param.param_type_name == "argument":
            args.append(str(value))
        elif getattr(param, "is_flag", False) and param.secondary_opts:
            args.append(param.opts[0] if value else param.secondary_opts[0])
        elif getattr(param, "is_flag", False):
            args.append(param.opts[0])
        elif getattr(param, "multiple", False):
            for item in value:
                args += [param.opts[0], str(item)]
        else:
            args += [param.opts[0], str(value)]
    return args


def launch(nproc: int, args: list[str]) -> int:
    """Run ``tui-trainer train ARGS`` on ``nproc`` processes; the exit code for the command."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # the agent's warnings (signals, stopping workers): told below, in one line
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed.elastic") or name.startswith("torch.distributed.launcher"):
            logging.getLogger(name).setLevel(logging.CRITICAL)

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # as torchrun sets it
    signalled = None
    with tempfile.TemporaryDirectory(prefix="tui-trainer-launch-") as tmp:
        run_dir_file = Path(tmp) / "run_dir"
        os.environ[RUN_DIR_FILE] = str(run_dir_file)
        config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                              rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0, monitor_interval=0.1)
        try:
            elastic_launch(config, sys.executable)("-m", "tui_trainer", "train", *args)
            return 0
        except SignalException as exc:  # passed on to the processes, which saved and stopped
            signalled = 128 + int(exc.sigval)
        except ChildFailedError as exc:
            run_dir = run_dir_file.read_text() if run_dir_file.exists() else None
            return _report(exc, nproc, run_dir)
        finally:
            os.environ.pop(RUN_DIR_FILE, None)
    # Interrupted, the agent can leave a thread of its rendezvous store running; tearing the
    # interpreter down then sometimes aborts ("terminate called without an active exception",
    # SIGABRT) instead of exiting 130/143. Everything is saved by now: leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(signalled)


def _status(run_dir: str | None) -> str | None:
    import json

    try:
        return json.loads((Path(run_dir) / "summary.json").read_text()).get("status") if run_dir else None
    except (OSError, ValueError):
        return None


def _report(exc, nproc: int, run_dir: str | None) -> int:
    """One line for processes that ended badly; their own messages are above it. The exit code:
    the first process's own (2 for a user mistake, 130/143 for a stop), 1 for a crash."""
    failures = sorted(exc.failures.items())
    # the launcher stops the rest with SIGTERM
    causes = [(rank, f) for rank, f in failures if f.exitcode not in (-15, 143)] or failures
    codes = [f.exitcode for _, f in causes]
    if all(code in (2, 130, 143) for code in codes):
        return codes[0]  # a mistake every process found (process 0 printed it), or a stop
    if _status(run_dir) == "diverged":
        return 1  # every process saw it, and process 0 printed the summary with its hint
    parts = []
    for rank, failure in causes:
        if failure.exitcode < 0:
            parts.append(f"process {rank} (pid {failure.pid}) was killed by {signal.Signals(-failure.exitcode).name}")
        else:
            parts.append(f"process {rank} (pid {failure.pid}) exited with code {failure.exitcode}")
    where = (f"; {run_dir} keeps its last checkpoint: resume with `tui-trainer train "
             f"--resume {run_dir} --nproc {nproc}`"
             if run_dir else "")
    click.echo(f"error: the run on {nproc} processes ended: {', '.join(parts)}{where}", err=True)
    return 1
