"""``tui-trainer presets list|show|validate``."""

from __future__ import annotations

from typing import List

import typer

from ..config import ConfigError, dumps_config, load_config
from ..config.presets import list_presets, load_preset
from ..config.tricks import TRICKS
from .common import MARKUP, complete_preset, fail, json_option, print_json, train_overrides

presets_app = typer.Typer(help="List, show and validate presets.", no_args_is_help=True,
                          rich_markup_mode=MARKUP)


@presets_app.command("list")
def presets_list() -> None:
    """The presets found in ./presets, the user's preset folder and the package."""
    from ..tables import table

    entries = list_presets()
    if not entries:
        typer.echo("no presets found")
        return
    from ..config.schema import DATASETS
    from ..data import DatasetError, dataset_spec, dataset_state

    rows = []
    for entry in entries:
        try:
            c = load_config(entry.path)
        except ConfigError as exc:
            rows.append([entry.name, "?", "?", "?", "?", "?", entry.origin, f"invalid: {exc.problems[0]}"])
            continue
        try:
            if c.data.dataset == "python":  # listing runs no one's code: it is called when the preset trains
                shape, size, state = "?", "?", f"from your code: {c.data.python.loader}"
            elif c.data.dataset not in DATASETS:
                shape, size, state = "?", "?", "from a plugin, read on use"
            else:
                spec = dataset_spec(c.data)
                shape, size, state = spec.shape_text, f"{spec.train_size + spec.test_size:,}", dataset_state(c.data)
        except DatasetError as exc:
            shape, size, state = "?", "?", str(exc)
        rows.append([entry.name, c.model.kind, c.data.dataset, shape, size, state, entry.origin, c.description])
    typer.echo(table(["name", "model", "data", "shape", "samples", "data state", "origin", "description"], rows,
                     right={4}, wrap={5, 7}, drop=(6, 3, 4, 5), narrowest=28))  # origin, shape, samples, state


@presets_app.command("show")
def presets_show(name: str = typer.Argument(..., help="Preset name or path.", autocompletion=complete_preset),
                 set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                                help="A setting, as train takes it: shown applied. Repeatable."),
                 as_json: bool = json_option("Every setting")) -> None:
    """Print the preset with every setting resolved (defaults filled in, --set applied), and the Python code it runs."""
    from ..usercode.trust import imports

    try:
        config, path = load_preset(name, train_overrides(set_))
    except ConfigError as exc:
        fail(str(exc))
    if as_json:
        from ..config import config_to_dict

        from ..doctor import diagnose_config

        rules = [f.to_dict() for f in diagnose_config(config)]
        return print_json({"path": str(path), "config": config_to_dict(config), "rules": rules,
                           "imports": imports(config)})
    typer.echo(f"# {path}" + (f" with {', '.join(f'--set {item}' for item in set_)}" if set_ else ""))
    for code in imports(config):  # the Python code it runs, said before anything runs
        said = code.get("problem") or (f"{code['code']} (sha256 {str(code['sha256'])[:12]}, "
                                       f"{'trusted' if code['trusted'] else 'not trusted yet: train asks for --yes'})")
        typer.echo(f"# runs Python code: {said}")
    typer.echo(rule_notes(config), nl=False)
    typer.echo(with_trick_notes(dumps_config(config)), nl=False)


def rule_notes(config) -> str:
    """The lesson's rules this preset breaks (``tui-trainer runs diagnose`` says the same of its runs),
    as comments: each with the change to try."""
    import shutil
    import textwrap

    from ..doctor import diagnose_config

    width, lines = max(40, shutil.get_terminal_size().columns), []
    for finding in diagnose_config(config):
        cure = f" (try {finding.prescription.typed})" if finding.prescription else ""
        lines += textwrap.wrap(f"{finding.title}: {finding.why}{cure}", width, initial_indent="# rule: ",
                               subsequent_indent="#   ", break_on_hyphens=False)
    return "".join(f"{line}\n" for line in lines)


def with_trick_notes(toml: str) -> str:
    """A comment above each trick's table: its title, what it does and its switch on `train`."""
    lines = []
    for line in toml.splitlines(keepends=True):
        name = line.strip()[len("[tricks."):-1] if line.startswith("[tricks.") else ""
        if name in TRICKS:
            trick = TRICKS[name]
            lines.append(f"# {trick.title}: {trick.help} (train --{trick.flag}/--no-{trick.flag})\n")
        lines.append(line)
    return "".join(lines)


@presets_app.command("trust")
def presets_trust(name: str = typer.Argument(..., help="Preset name or path.", autocompletion=complete_preset)) -> None:
    """Trust the Python code a preset names, as it is now: later runs need no --yes until a file changes."""
    from ..usercode.refs import CodeError, refs_of
    from ..usercode.trust import trust

    try:
        config, path = load_preset(name)
        refs = refs_of(config)
    except (ConfigError, CodeError) as exc:
        fail(str(exc))
    if not refs:
        fail(f"{path} runs no code of its own (model.kind and data.dataset are not \"python\"): nothing to trust")
    for ref in refs:
        trust(ref)
        typer.echo(f"trusted: {ref.where} (sha256 {(ref.digest() or '-')[:12]})")


@presets_app.command("validate")
def presets_validate(files: List[str] = typer.Argument(..., help="Preset files or names.",
                                                       autocompletion=complete_preset)) -> None:
    """Check presets; print every problem with its file and key path. Exit 2 if any is invalid."""
    bad = 0
    for name in files:
        try:
            _, path = load_preset(name)
            typer.echo(f"ok: {path}")
        except ConfigError as exc:
            bad += 1
            typer.echo(f"error: {exc}", err=True)
    if bad:
        raise typer.Exit(2)
