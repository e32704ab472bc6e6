"""Opening the app: the default command, and ``tui``."""

from __future__ import annotations

import sys

from ..errors import UserError


def open_app(preset: str | None, runs_dir, threads: int | None, overrides: list | None = None) -> None:
    """Open the app on ``preset`` with ``overrides`` (``--set``, ``--epochs``); a user mistake (an
    unknown preset, a bad key or value) is one ``error:`` line and exit 2, before the app opens.

    Plain ``tui-trainer`` comes here straight from :func:`~tui_trainer.cli.main`, without typer,
    whose first parse imports pydantic (``python bench/startup.py`` times the first screen)."""
    from ..tui import TrainerApp

    try:
        TrainerApp(preset, runs_dir, threads, overrides).run()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
