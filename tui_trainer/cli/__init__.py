"""The ``tui-trainer`` command: thin typer wrappers that parse, call the library and map
errors to a message and an exit code. torch is imported only by the commands that train."""

from __future__ import annotations

import os
import sys

from ..errors import UserError
from .open_app import open_app

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


__all__ = ["main", "open_app"]
