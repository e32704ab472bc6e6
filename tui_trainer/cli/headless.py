"""``tui-trainer train``'s work, each concern a function: the launcher for a preset or a resume,
the run spread over processes (``--nproc``), and the run itself with its reporter, its
TensorBoard sink, its signals and its exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ..config.presets import DEFAULT_PRESET, load_preset
from ..errors import UserError
from .common import fail, quiet_exit


def _threads_given(threads: int | None) -> list:
    return [("train.threads", threads, f"--threads {threads}")] if threads is not None else []


def check_preset(preset: str | None, overrides: list, threads: int | None) -> None:
    """The preset and the settings given, checked as training would check them, without torch:
    a mistake is one line at once, not after the seconds torch takes to import."""
    from ..usercode.trust import require_all

    try:
        config, _ = load_preset(preset or DEFAULT_PRESET, [*overrides, *_threads_given(threads)])
        require_all(config)  # the preset's own code: found, and said yes to, before anything is imported
    except UserError as exc:
        fail(str(exc), exc.exit_code)


def launcher_for(preset: str | None, overrides: list, resume: str | None, threads: int | None, runs_dir: Path,
                 dist: Any) -> Any:
    """The launcher of a new run of ``preset`` with ``overrides``, or of the resume of ``resume``
    (a folder, an id, a unique part of one, or latest), its config resolved; one line if it cannot be."""
    from ..launcher import Launcher

    try:
        if resume is not None:
            from ..runs.catalog import resolve_run

            folder = resolve_run(resume, runs_dir).path
            launcher = Launcher(resume=folder, threads=threads, runs_dir=runs_dir, distributed=dist)
        else:
            config, _ = load_preset(preset or DEFAULT_PRESET, [*overrides, *_threads_given(threads)])
            launcher = Launcher(config, runs_dir=runs_dir, distributed=dist)
        launcher.resolve()
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    return launcher


def run_on_processes(ctx: typer.Context, config: Any, nproc: int) -> int:
    """``--nproc N``: this command again on N processes (torch's launcher); their exit code."""
    from .launch import launch, worker_args

    if config.train.batch_size % nproc:  # before any process starts
        fail(f"train.batch_size: {config.train.batch_size} cannot be split evenly over {nproc} "
             f"processes; choose a multiple of {nproc} (it is the global batch)")
    return launch(nproc, worker_args(ctx))


def run_headless(launcher: Any, dist: Any, as_json: bool, tensorboard: Path | None) -> int:
    """Prepare (refusing what cannot apply here before anything is created), attach the folder, and
    train with a progress bar or JSON lines; the exit code: 0, 1 for a diverged or failed run,
    130/143 after Ctrl-C/SIGTERM (the run saved and resumable)."""
    from ..engine import Control
    from ..engine.distributed import ProcessLost
    from .data_progress import DataProgress
    from .reporter import JsonReporter, NoReporter, ProgressReporter, Unpiped
    from .signals import exit_code, stop_on_signals

    say = fail if dist.is_main else quiet_exit  # process 0 prints what every process would
    control, board = Control(), None
    reporter = Unpiped((JsonReporter() if as_json else ProgressReporter()) if dist.is_main else NoReporter())
    loading = DataProgress(enabled=dist.is_main)
    launcher.sinks.append(reporter)
    launcher.progress = loading
    try:
        _prepare(launcher, loading, tensorboard)
        board = _attach(launcher, tensorboard)
        with stop_on_signals(control) as received:
            result = launcher.run(control)
    except UserError as exc:
        launcher.close()
        reporter.close()
        if isinstance(exc, ProcessLost):  # whichever process saw it
            fail(f"process {dist.rank}: {exc}", exc.exit_code)
        say(str(exc), exc.exit_code)
    except KeyboardInterrupt:  # before training started, or a second Ctrl-C
        launcher.close()
        reporter.close()
        loading.close()
        say("interrupted", 130)
    reporter.close()
    if board is not None:
        board.close()
    if received:
        return exit_code(received)
    return 1 if result.status in ("diverged", "failed") else 0


def _prepare(launcher: Any, loading: Any, tensorboard: Path | None) -> None:
    if tensorboard is not None:
        from ..runs.tensorboard import require_tensorboard

        require_tensorboard()
    try:
        launcher.prepare()  # refuses tricks that cannot apply here before creating anything
    finally:
        loading.close()


def _attach(launcher: Any, tensorboard: Path | None) -> Any:
    """The run folder made and locked (process 0); its TensorBoard sink, if asked for."""
    from .launch import RUN_DIR_FILE

    path = launcher.attach()
    if path is None:
        return None
    board = None
    if tensorboard is not None:
        from ..runs.tensorboard import TensorBoardSink

        board = TensorBoardSink(tensorboard / path.name)
        launcher.trainer.record.sinks.append(board)
    if os.environ.get(RUN_DIR_FILE):  # tell train --nproc where the run is
        Path(os.environ[RUN_DIR_FILE]).write_text(str(path))
    return board
