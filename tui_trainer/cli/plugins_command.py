"""``tui-trainer plugins``: the model families and datasets that installed packages add, each loaded."""

from __future__ import annotations

import typer

from .common import json_option, print_json


def plugins_list(as_json: bool = json_option("Each plugin: its kind, name, code, package and settings, or why it "
                                             "failed")) -> None:
    """List the model families and datasets installed plugins add, each with its settings; one that fails
    to load says why (exit code 1), and the rest of the tool works without it."""
    from ..config.writer import toml_value
    from ..tables import table
    from ..usercode import plugins
    from ..usercode.refs import CodeError

    found, failed = [], 0
    for kind in plugins.GROUPS:
        for name in plugins.names(kind):
            try:
                plugin = plugins.load(kind, name)
            except CodeError as exc:
                failed += 1
                found.append({"kind": kind[:-1], "name": name, "failed": str(exc)})
                continue
            found.append({"kind": kind[:-1], "name": name, "code": plugin.value, "package": plugin.package,
                          "settings": {d.name: toml_value(d.default) for d in plugin.settings}})
    if as_json:
        print_json(found)
    elif not found:
        typer.echo("no plugins installed: a package adds model families and datasets through the entry points "
                   "tui_trainer.models and tui_trainer.datasets (docs/own-code.md)")
    else:
        rows = [[p["kind"], p["name"], p.get("code", "-"), p.get("package", "-"),
                 p["failed"] if "failed" in p else ", ".join(f"{k} = {v}" for k, v in p["settings"].items()) or "-"]
                for p in found]
        typer.echo(table(["kind", "name", "code", "package", "settings"], rows, wrap={4}))
    if failed:
        raise typer.Exit(1)
