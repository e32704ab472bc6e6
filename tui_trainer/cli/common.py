"""What the commands share: the error exit, the runs folder option, shell completion of names,
and turning ``--set`` and the ``train.*`` shortcut options into overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _switches_show_no_type() -> None:
    """typer's help writes a switch's type after it (``--json/--no-json <bool>``, ``--help <bool>``), which
    reads as if it took a value; a switch takes none, so its type column stays empty."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich


def _usage_errors_in_one_line() -> None:
    """A mistyped option or value (``--epochs abc``, an unknown option) is one ``error:`` line on
    stderr naming the option, as every other user mistake is, not typer's framed usage box."""
    from typer import rich_utils

    def one_line(error: Exception) -> None:
        if error.__class__.__name__ == "NoArgsIsHelpError":  # the help was printed: nothing to add
            return
        ctx = getattr(error, "ctx", None)
        hint = f" ({ctx.command_path} --help shows its options)" if ctx is not None else ""
        typer.echo(f"error: {error.format_message()}{hint}", err=True)

    rich_utils.rich_format_error = one_line


_switches_show_no_type()
_usage_errors_in_one_line()


#: Help text as Markdown: a docstring's line breaks are reflowed to the terminal's width (typer's
#: "rich" mode kept them, ragged at 80 columns), and `code` shows as code.
MARKUP = "markdown"


def fail(message: str, code: int = 2) -> None:
    """One ``error:`` line on stderr, then exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def quiet_exit(message: str, code: int = 2) -> None:
    """:func:`fail` for the processes of a run other than process 0, which prints the same message.
    They wait a moment first: the launcher stops every process once one has exited, and process 0
    must have printed by then."""
    import time

    time.sleep(1.0)
    raise typer.Exit(code)


def json_option(what: str) -> Any:
    """``--json``: the command's data as one JSON document on stdout, the same in every command that prints data."""
    return typer.Option(False, "--json", help=f"{what} as one JSON document, for scripts.")


def print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=1, default=str))


def _yes(value: bool) -> bool:
    if value:
        from ..usercode.trust import allow_for_this_command

        allow_for_this_command()
    return value


def yes_option() -> Any:
    """``--yes``: run the Python code a preset names without asking (the same in every command that trains)."""
    return typer.Option(False, "--yes", "-y", callback=_yes,
                        help="Run the Python code the preset names (model.python.factory, data.python.loader) "
                             "without asking, as TUI_TRAINER_TRUST=1 does.")


def epochs_option() -> Any:
    """``--epochs N``, the same in every command that trains (checked as ``train.epochs`` is)."""
    return typer.Option(None, "--epochs", "-e", help="Maximum epochs of each run (train.epochs).")


def threads_option() -> Any:
    """``--threads N``, the same in every command that trains (checked as ``train.threads`` is)."""
    return typer.Option(None, "--threads", help="CPU threads for torch in each run; 0 = one per core (train.threads).")


def jobs_option() -> Any:
    """``--jobs N``: an experiment's runs at once, each in its own process; the same in every command with runs."""
    return typer.Option(None, "--jobs", "-j", min=1, help="Runs at once, each in its own process (default: one per "
                                                          "core for a lab, one for a sweep or an ablation).")


def threads_for(jobs: int, threads: int | None) -> int | None:
    """Each of ``jobs`` runs at once gets its share of the cores unless ``--threads`` says otherwise."""
    from ..experiments.plan import threads_each

    return threads_each(jobs, threads)


def _at_least_one(value: int | None) -> int | None:
    if value is not None and value < 1:
        fail(f"--seeds {value}: must be at least 1")
    return value


def seeds_option(default: int | None, per: str) -> Any:
    """``--seeds N``: how many seeds, checked as it is read, before anything loads."""
    start = "default: the lab's" if default is None else "train.seed, train.seed+1, ..."
    return typer.Option(default, "--seeds", callback=_at_least_one, help=f"Seeds per {per} ({start}).")


def train_overrides(set_: list[str], **train: object) -> list:
    """``--set`` items, then a ``(key, value, label)`` override for each ``train.<name>`` option
    given (``epochs=3`` -> ``("train.epochs", 3, "--epochs 3")``); options left at None are skipped."""
    overrides: list = list(set_)
    overrides += [(f"train.{key}", value, f"--{key} {value}") for key, value in train.items() if value is not None]
    return overrides


def complete_preset(incomplete: str) -> list[str]:
    """Preset names for shell completion (no torch: presets are plain TOML)."""
    from ..config.presets import list_presets

    return [e.name for e in list_presets() if e.name.startswith(incomplete)]


def complete_run(ctx: typer.Context, incomplete: str) -> list[str]:
    """Run ids (and ``latest``) in the runs folder given so far, for shell completion."""
    from ..runs.catalog import run_ids

    runs_dir = Path(ctx.params.get("runs_dir") or "runs")
    return [i for i in ["latest", *run_ids(runs_dir)] if i.startswith(incomplete)]


RUNS_DIR_HELP = "The runs folder (default runs, or $TUI_TRAINER_RUNS)."


def runs_dir_option(help: str = RUNS_DIR_HELP) -> Path:
    return typer.Option(Path("runs"), "--runs-dir", help=help, envvar="TUI_TRAINER_RUNS")


RAY_HELP = ("Run the trials as Ray tasks, at once: alone (or `local`) starts a local Ray "
            "instance, `auto` or HOST:PORT joins a running cluster (its runs folder must be visible to "
            "every node). Needs the ray extra.")


def ray_option() -> str | None:
    return typer.Option(None, "--ray", metavar="[ADDRESS]", help=RAY_HELP, show_default=False)


def ray_trials(address: str | None, max_concurrent: int | None):
    """The :class:`~tui_trainer.experiments.ray_trials.RayTrials` for ``--ray ADDRESS``, after checking the address."""
    if address not in ("local", "auto") and ":" not in address:
        fail(f"--ray {address}: not a Ray address (auto, HOST:PORT or ray://HOST:PORT); "
             "alone, --ray starts a local Ray: put it after the preset, or write --ray local")
    if max_concurrent is not None and max_concurrent < 1:
        fail("--max-concurrent must be at least 1")
    from ..errors import UserError
    from ..experiments.ray_trials import RayTrials

    try:
        return RayTrials(None if address == "local" else address, max_concurrent)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
