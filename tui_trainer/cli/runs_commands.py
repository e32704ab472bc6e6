"""``tui-trainer runs list|show|compare|plot|export``: past runs, without torch (``diagnose`` and ``treat``:
:mod:`.doctor_commands`)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError
from .common import MARKUP, complete_run, fail, json_option, print_json, runs_dir_option

runs_app = typer.Typer(help="Look at past runs: list, show, diagnose, treat, compare, plot, export.",
                       no_args_is_help=True, rich_markup_mode=MARKUP)

RUN_HELP = "Run folder, id, a unique part of the id, or `latest`."


def _expand(refs: List[str], runs_dir: Path):
    """Runs by reference, a lab, sweep or ablation folder standing for all of its runs."""
    from ..runs.catalog import group_runs, load_run

    infos = []
    for ref in refs:
        group = next((g for p in (Path(ref), runs_dir / ref) if p.is_dir() and (g := group_runs(p)) is not None), None)
        if group is not None and not group:
            fail(f"{ref}: no runs in it yet")
        infos += [load_run(p) for p in group] if group is not None else _resolve([ref], runs_dir)
    return infos


def _resolve(refs: List[str], runs_dir: Path):
    from ..runs.catalog import resolve_run

    try:
        return [resolve_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        fail(str(exc), exc.exit_code)


@runs_app.command("list")
def runs_list(runs_dir: Path = runs_dir_option(),
              as_json: bool = json_option("Every run (id, status, summary)")) -> None:
    """A table of the runs: id, preset, tricks on, status, best val loss, test score, time."""
    from ..runs.catalog import list_table, scan_runs

    from ..doctor.treat import treatment_outcome, treatments

    runs = scan_runs(runs_dir) if runs_dir.is_dir() else []
    treated = {r.id: outcome for r in runs if treatments(r.path)
               and (outcome := treatment_outcome(r.path, runs_dir)) is not None}
    if as_json:
        from ..runs.records import run_record

        return print_json([{**run_record(r, settings=False), "treated": treated.get(r.id)} for r in runs])
    if not runs:  # not a mistake: nothing has trained here yet
        typer.echo(f"no runs in {runs_dir} yet: `tui-trainer train digits-cnn --runs-dir {runs_dir}` makes one "
                   "(or give another folder with --runs-dir)")
        return
    typer.echo(list_table(runs, treated))


@runs_app.command("show")
def runs_show(run: str = typer.Argument(..., help=RUN_HELP, autocompletion=complete_run),
              runs_dir: Path = runs_dir_option(),
              as_json: bool = json_option("The run: its summary, every setting and its files")) -> None:
    """One run: its results, files and the settings that differ from the defaults."""
    from ..runs.catalog import show_text

    [info] = _resolve([run], runs_dir)
    diagnosis = _diagnosis(info, runs_dir)
    if as_json:
        from ..runs.records import run_record

        return print_json({**run_record(info), "diagnosis": diagnosis.to_dict() if diagnosis else None})
    line = ""
    if diagnosis is not None:
        import shutil
        import textwrap

        line = f"{diagnosis.headline()}" + (f": tui-trainer runs diagnose {info.id}" if diagnosis.findings else "")
        line = "\n        ".join(textwrap.wrap(line, max(40, shutil.get_terminal_size().columns - 8),
                                               break_on_hyphens=False))
    typer.echo(show_text(info, line))


def _diagnosis(info, runs_dir: Path):
    """The doctor's diagnosis of a run, or None for a run with no events yet."""
    from ..doctor import diagnose_run
    from ..runs.catalog import RunNotFound

    try:
        return diagnose_run(info.path, runs_dir)
    except RunNotFound:
        return None


@runs_app.command("compare")
def runs_compare(runs: List[str] = typer.Argument(..., help="Two or more runs (folder, id or unique part), or a "
                                                            "lab, sweep or ablation folder (all its runs).",
                                                  autocompletion=complete_run),
                 runs_dir: Path = runs_dir_option(),
                 as_json: bool = json_option("The settings that differ and each run's summary")) -> None:
    """The settings that differ between runs, and their results side by side."""
    from ..runs.catalog import compare_text

    infos = _expand(runs, runs_dir)  # a lab's folder: all of its runs, as runs plot takes it
    if len(infos) < 2:
        fail(f"compare needs two or more runs; for one, tui-trainer runs show {runs[0]}")
    if as_json:
        from ..runs.records import compare_record

        return print_json(compare_record(infos))
    typer.echo(compare_text(infos))


@runs_app.command("plot")
def runs_plot(
    runs: List[str] = typer.Argument(..., help="One or more runs (folder, id or unique part), or a "
                                               "lab, sweep or ablation folder (all its runs).",
                                     autocompletion=complete_run),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="The PNG file to write (default: named "
                                                                        "after the runs, in this folder)."),
    weights: bool = typer.Option(False, "--weights", help="A row more: the weights' L2 norm per "
                                                          "epoch (weight decay at work)."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Loss, validation loss, LR and gradient-norm curves of the runs, overlaid, as a PNG; runs
    that differ only in their seed as a mean line with a min-max band."""
    from ..runs.plot import plot_runs

    infos = _expand(runs, runs_dir)
    if output is None:
        output = Path(f"{infos[0].id}.png" if len(infos) == 1 else f"{infos[0].id}-and-{len(infos) - 1}-more.png")
    try:
        path = plot_runs(infos, output, weights=weights)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    typer.echo(f"wrote {path}")


@runs_app.command("export")
def runs_export(
    run: str = typer.Argument(..., help=RUN_HELP, autocompletion=complete_run),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV file to write (default: standard output)."),
    per_epoch: bool = typer.Option(False, "--per-epoch", help="One row per epoch (train/val loss, accuracy, LR, "
                                                              "patience) instead of one per step."),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR",
                                               help="Write the run as TensorBoard scalars in DIR/<run "
                                                    "id> instead (needs tensorboard)."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """A run's metrics as CSV: per step (loss, gradient norm, LR) or per epoch; or as TensorBoard scalars."""
    from ..atomic import atomic_write_text
    from ..runs.curves import epochs_csv, read_curves, steps_csv

    [info] = _resolve([run], runs_dir)
    if tensorboard is not None and (per_epoch or output is not None):
        fail("--tensorboard writes every scalar, per step and per epoch, in its own folder; "
             f"drop {'--per-epoch' if per_epoch else '--output'} (or --tensorboard, for a CSV)")
    if tensorboard is not None:
        from ..runs.tensorboard import export_run

        try:
            count = export_run(info.path, tensorboard / info.id)
        except (UserError, OSError) as exc:
            fail(str(exc), getattr(exc, "exit_code", 2))
        typer.echo(f"wrote {count} events as TensorBoard scalars to {tensorboard / info.id} "
                   f"(tensorboard --logdir {tensorboard})")
        return
    try:
        curves = read_curves(info)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    text = epochs_csv(curves) if per_epoch else steps_csv(curves)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"wrote {output} ({text.count(chr(10)) - 1} rows)")


def nudge(
    run: str = typer.Argument(..., help=RUN_HELP, autocompletion=complete_run),
    lr_scale: Optional[float] = typer.Option(None, "--lr-scale",
                                             help="Multiply the schedule's LR by this from now on (1 = as scheduled)."),
    clip: Optional[str] = typer.Option(None, "--clip", metavar="off|on|THRESHOLD",
                                       help="Switch gradient clipping off or on, or set its threshold."),
    dropout: Optional[float] = typer.Option(None, "--dropout", metavar="P", help="Set p of every Dropout layer."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay",
                                                 help="Set the weight decay coefficient (the trick must be on)."),
    patience: Optional[int] = typer.Option(None, "--patience",
                                           help="Set early stopping's patience (the trick must be on)."),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KNOB=VALUE",
                                   help="Any setting a run can change while it trains, by its knob's name "
                                        "(lr_scale, clip, dropout, weight_decay, patience, ...). Repeatable."),
    wait: float = typer.Option(30.0, "--wait", help="Seconds to wait for the run's answer."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Change settings of a run while it trains, headless: through its folder, at its next step boundary."""
    from ..config import ConfigError
    from ..config.overrides import parse_override
    from ..engine.commands import Steer
    from ..runs.catalog import resolve_run
    from ..runs.nudge import send, wait_reply

    changes: dict = {}
    if lr_scale is not None:
        changes["lr_scale"] = lr_scale
    if clip is not None:
        try:
            changes["clip"] = clip if clip in ("off", "on") else float(clip)
        except ValueError:
            fail(f"--clip {clip}: give off, on or a threshold")
    for key, value in (("dropout", dropout), ("weight_decay", weight_decay), ("patience", patience)):
        if value is not None:
            changes[key] = value
    for item in set_:  # the run's parts judge the knob and its value
        try:
            [knob], value = parse_override(item)
        except (ConfigError, ValueError):
            fail(f"--set {item}: expected KNOB=VALUE, e.g. --set lr_scale=0.5")
        changes[knob] = value
    if not changes:
        fail("nothing to change: give --lr-scale, --clip, --dropout, --weight-decay, --patience or --set KNOB=VALUE")
    for bad, why in ((lr_scale is not None and not lr_scale > 0,
                      f"--lr-scale {lr_scale}: must be above 0 (the LR would stop or flip)"),
                     (dropout is not None and not 0 <= dropout < 1, f"--dropout {dropout}: p must be in [0, 1)"),
                     (weight_decay is not None and not 0 <= weight_decay <= 1,
                      f"--weight-decay {weight_decay}: must be in [0, 1]"),
                     (patience is not None and patience < 1, f"--patience {patience}: must be at least 1"),
                     (isinstance(changes.get("clip"), float) and not changes["clip"] > 0,
                      f"--clip {clip}: a threshold must be above 0")):
        if bad:
            fail(why)  # refused here, before the run is asked
    try:
        info = resolve_run(run, runs_dir)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    if info.status != "running":
        fail(f"{info.id} is not training (it is {info.status}); nudge reaches a run while it trains")
    answer = wait_reply(send(info.path, Steer(changes, "nudge")), wait)
    if answer is None:
        fail(f"no answer from {info.id} in {wait:g} s: is it training? (its process may be "
             "gone; a run on several processes does not take nudges)", 1)
    if answer["status"] != "applied":
        fail(f"refused: {answer['detail']}")
    typer.echo(f"{info.id}: {answer['detail']} from step {answer['step']}")
