"""``tui-trainer presets list|show|validate``."""

from __future__ import annotations

from typing import List

import typer

from ..config import ConfigError, dumps_config, load_config
from ..config.presets import list_presets, load_preset
from .common import complete_preset, fail

presets_app = typer.Typer(help="List, show and validate presets.", no_args_is_help=True)


@presets_app.command("list")
def presets_list() -> None:
    """The presets found in ./presets, the user's preset folder and the package."""
    from ..runs.catalog import table

    entries = list_presets()
    if not entries:
        typer.echo("no presets found")
        return
    rows = []
    for entry in entries:
        try:
            c = load_config(entry.path)
            rows.append([entry.name, c.model.kind, c.data.dataset, ",".join(c.tricks_on()) or "-", entry.origin, c.description])
        except ConfigError as exc:
            rows.append([entry.name, "?", "?", "?", entry.origin, f"invalid: {exc.problems[0]}"])
    typer.echo(table(["name", "model", "data", "tricks on", "origin", "description"], rows, underline=False))


@presets_app.command("show")
def presets_show(name: str = typer.Argument(..., help="Preset name or path.", autocompletion=complete_preset)) -> None:
    """Print the preset with every setting resolved (defaults filled in)."""
    try:
        config, path = load_preset(name)
    except ConfigError as exc:
        fail(str(exc))
    typer.echo(f"# {path}")
    typer.echo(dumps_config(config), nl=False)


@presets_app.command("validate")
def presets_validate(files: List[str] = typer.Argument(..., help="Preset files or names.", autocompletion=complete_preset)) -> None:
    """Check presets; print every problem with its file and key path. Exit 2 if any is invalid."""
    bad = 0
    for name in files:
        try:
            _, path = load_preset(name)
            typer.echo(f"ok: {path}")
        except ConfigError as exc:
            bad += 1
            typer.echo(str(exc), err=True)
    if bad:
        raise typer.Exit(2)
