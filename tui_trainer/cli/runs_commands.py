"""``tui-trainer runs list|show|compare|plot|export``: past runs, without torch."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError
from .common import complete_run, fail, runs_dir_option

runs_app = typer.Typer(help="Look at past runs: list, show, compare, plot, export.", no_args_is_help=True)

RUN_HELP = "Run folder, id, a unique part of the id, or `latest`."


def _resolve(refs: List[str], runs_dir: Path):
    from ..runs.catalog import resolve_run

    try:
        return [resolve_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        fail(str(exc), exc.exit_code)


@runs_app.command("list")
def runs_list(runs_dir: Path = runs_dir_option()) -> None:
    """A table of the runs: id, preset, tricks on, status, best val loss, test accuracy, time."""
    from ..runs.catalog import list_table, scan_runs

    if not runs_dir.is_dir():
        fail(f"{runs_dir}: no such runs folder (give one with --runs-dir)")
    runs = scan_runs(runs_dir)
    if not runs:
        typer.echo(f"no runs in {runs_dir}")
        return
    typer.echo(list_table(runs))


@runs_app.command("show")
def runs_show(run: str = typer.Argument(..., help=RUN_HELP, autocompletion=complete_run), runs_dir: Path = runs_dir_option()) -> None:
    """One run: its results, files and the settings that differ from the defaults."""
    from ..runs.catalog import show_text

    [info] = _resolve([run], runs_dir)
    typer.echo(show_text(info))


@runs_app.command("compare")
def runs_compare(runs: List[str] = typer.Argument(..., help="Two or more runs (folder, id or unique part).", autocompletion=complete_run),
                 runs_dir: Path = runs_dir_option()) -> None:
    """The settings that differ between runs, and their results side by side."""
    from ..runs.catalog import compare_text

    if len(runs) < 2:
        fail("compare needs two or more runs")
    typer.echo(compare_text(_resolve(runs, runs_dir)))


@runs_app.command("plot")
def runs_plot(
    runs: List[str] = typer.Argument(..., help="One or more runs (folder, id or unique part).", autocompletion=complete_run),
    output: Path = typer.Option(..., "--output", "-o", help="The PNG file to write."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Loss, validation loss, LR and gradient-norm curves of the runs, overlaid, as a PNG."""
    from ..runs.plot import plot_runs

    infos = _resolve(runs, runs_dir)
    try:
        path = plot_runs(infos, output)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    typer.echo(f"wrote {path}")


@runs_app.command("export")
def runs_export(
    run: str = typer.Argument(..., help=RUN_HELP, autocompletion=complete_run),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV file to write (default: standard output)."),
    epochs: bool = typer.Option(False, "--epochs", help="One row per epoch (train/val loss, accuracy, LR, patience) instead of one per step."),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR", help="Write the run as TensorBoard scalars in DIR/<run id> instead (needs tensorboard)."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """A run's metrics as CSV: per step (loss, gradient norm, LR) or per epoch; or as TensorBoard scalars."""
    from ..atomic import atomic_write_text
    from ..runs.catalog import epochs_csv, read_curves, steps_csv

    [info] = _resolve([run], runs_dir)
    if tensorboard is not None:
        from ..runs.tensorboard import export_run

        try:
            count = export_run(info.path, tensorboard / info.id)
        except (UserError, OSError) as exc:
            fail(str(exc), getattr(exc, "exit_code", 2))
        typer.echo(f"wrote {count} events as TensorBoard scalars to {tensorboard / info.id} (tensorboard --logdir {tensorboard})")
        return
    try:
        curves = read_curves(info)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    text = epochs_csv(curves) if epochs else steps_csv(curves)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"wrote {output} ({text.count(chr(10)) - 1} rows)")
