"""The ``tui-trainer`` command: thin typer wrappers that parse, call the library and map
errors to a message and an exit code. torch is imported only by the commands that train."""

from __future__ import annotations

import os
import sys

from ..errors import UserError

#: Set by the shell when it asks for completions (then argv is bare too).
COMPLETE_VAR = "_TUI_TRAINER_COMPLETE"


def main() -> None:
    if len(sys.argv) == 1 and COMPLETE_VAR not in os.environ:  # plain `tui-trainer`: the app, without typer
        open_app(None, os.environ.get("TUI_TRAINER_RUNS", "runs"), None)
        return
    from .app import app

    sys.argv[1:] = optional_values(sys.argv[1:])
    try:
        app(prog_name="tui-trainer")
    except UserError as exc:  # raised outside a command's own handling
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


#: Options whose value may be left out, and what they mean then.
OPTIONAL_VALUES = {"--ray": "local"}


def optional_values(args: list[str]) -> list[str]:
    """``--ray`` alone (last, or before another option) means ``--ray local``; typer's options
    always take their value."""
    out = list(args)
    for i in range(len(out) - 1, -1, -1):
        if out[i] in OPTIONAL_VALUES and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, OPTIONAL_VALUES[out[i]])
    return out


def open_app(preset: str | None, runs_dir, threads: int | None) -> None:
    """Open the app; a user mistake (an unknown preset) is one ``error:`` line and exit 2.

    Plain ``tui-trainer`` comes here straight from :func:`main`: typer's first parse
    imports pydantic (about 75 ms on 2 cores), a seventh of the first screen's budget."""
    from ..tui import TrainerApp

    try:
        TrainerApp(preset, runs_dir, threads).run()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


__all__ = ["main", "open_app"]
