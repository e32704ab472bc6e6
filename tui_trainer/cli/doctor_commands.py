"""``tui-trainer runs diagnose|treat``: the run doctor, on a run folder (live or finished), without
torch until a treatment trains."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..doctor.treat import DEFAULT_SEEDS
from ..errors import UserError
from .common import (
    complete_run,
    epochs_option,
    fail,
    jobs_option,
    json_option,
    print_json,
    ray_option,
    runs_dir_option,
    threads_option,
    yes_option,
)
from .runs_commands import RUN_HELP, _resolve, runs_app


@runs_app.command("diagnose")
def runs_diagnose(run: str = typer.Argument("latest", help=RUN_HELP, autocompletion=complete_run),
                  runs_dir: Path = runs_dir_option(),
                  as_json: bool = json_option("The findings, each with its evidence and prescription")) -> None:
    """What went wrong in a run, live or finished: each finding with its evidence, why it matters,
    and the change to try, with the lab that measured it."""
    import shutil

    from ..doctor import diagnose_run
    from ..doctor.report import diagnosis_text

    [info] = _resolve([run], runs_dir)
    try:
        diagnosis = diagnose_run(info.path, runs_dir)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    if as_json:
        return print_json({"run": str(info.path), **diagnosis.to_dict()})
    typer.echo(diagnosis_text(diagnosis, str(info.path), f"tui-trainer train {_shown(info.path / 'config.toml')}",
                              shutil.get_terminal_size().columns))


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to here when it is below here."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@runs_app.command("treat")
def runs_treat(run: str = typer.Argument("latest", help=RUN_HELP, autocompletion=complete_run),
               finding: Optional[str] = typer.Option(None, "--finding", metavar="NAME",
                                                     help="The finding to treat (default: the first with a "
                                                          "prescription; runs diagnose names them)."),
               seeds: int = typer.Option(DEFAULT_SEEDS, "--seeds",
                                         help="Seeds of each side, from the run's own seed (at least 2: a verdict "
                                              "weighs the spread)."),
               epochs: Optional[int] = epochs_option(),
               threads: Optional[int] = threads_option(),
               yes: bool = yes_option(),
               jobs: Optional[int] = jobs_option(),
               runs_dir: Path = runs_dir_option("Where the treatment's lab folder is created."),
               ray: Optional[str] = ray_option()) -> None:
    """Prove a prescription on the run itself: its own settings and the prescribed ones, trained side
    by side on several seeds (a lab, resumable), judged by the labs' statistics."""
    from ..doctor.treat import prepare
    from .lab_commands import lab_run

    [info] = _resolve([run], runs_dir)
    try:
        path, chosen = prepare(info, runs_dir, finding, seeds)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    typer.echo(f"treating {info.id}: {chosen.title}; trying {chosen.prescription.typed} beside its own settings")
    from ..doctor.treat import treatment_outcome

    lab_run(name=str(path), seeds=seeds, epochs=epochs, threads=threads, jobs=jobs, set_=[], runs_dir=runs_dir,
            ray=ray)
    outcome = treatment_outcome(info.path, runs_dir)
    if outcome is not None:
        typer.echo(f"\ntreatment of {info.id} ({chosen.title}): {outcome}; `tui-trainer runs list` marks it")
