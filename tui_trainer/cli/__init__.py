"""The ``tui-trainer`` command: thin typer wrappers that parse, call the library and map
errors to a message and an exit code. torch is imported only by the commands that train."""

from __future__ import annotations

import sys

from ..errors import UserError


def main() -> None:
    from .app import app

    try:
        app(prog_name="tui-trainer")
    except UserError as exc:  # raised outside a command's own handling
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


__all__ = ["main"]
