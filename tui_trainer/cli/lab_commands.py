"""``tui-trainer lab list|run|show``: the lesson's questions, answered by experiment."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError
from .common import (
    MARKUP,
    epochs_option,
    fail,
    jobs_option,
    json_option,
    print_json,
    ray_option,
    ray_trials,
    runs_dir_option,
    seeds_option,
    threads_option,
)

lab_app = typer.Typer(help="Labs: the lesson's questions answered by small experiments on real "
                           "data, with a measured verdict.",
                      no_args_is_help=True, rich_markup_mode=MARKUP)


def _complete_lab(incomplete: str) -> list[str]:
    from ..experiments.labs import lab_paths

    return [name for name in lab_paths() if name.startswith(incomplete)]


@lab_app.command("list")
def lab_list(runs_dir: Path = runs_dir_option("Where the labs' folders are: their times are measured there.")) -> None:
    """The labs: name, question, runs (arms × values × seeds) and the time it took on this
    machine, from the lab's newest folder; until it has run here, the time it took on the
    machine of the committed reference measurement, marked "ref"; "not run" when there is neither."""
    from ..experiments.labs import LabError, lab_paths, load_lab
    from ..experiments.labs.reference import expected, reference_note
    from ..tables import fit_text, table

    rows = []
    for name, path in lab_paths().items():
        try:
            lab = load_lab(path, check_configs=False)
        except LabError as exc:
            rows.append([name, f"invalid: {exc}"[:100], "", ""])
            continue
        time = expected(lab, runs_dir)
        rows.append([name, lab.question, str(lab.run_count()), time.cell() if time else "not run"])
    if not rows:
        typer.echo("no labs found")
        return
    typer.echo(table(["lab", "question", "runs", "time"], rows, right={2, 3}, wrap={1}))
    if any(row[3].endswith(" ref") for row in rows):
        typer.echo(fit_text(reference_note()))
    typer.echo("\n" + fit_text("tui-trainer lab run NAME (--seeds N, --epochs N, --jobs N, --set KEY=VALUE); "
                               "lab show NAME: its last result; in the app: b"))


@lab_app.command("run")
def lab_run(
    name: str = typer.Argument(..., help="A lab's name (tui-trainer lab list) or a lab file.",
                               autocompletion=_complete_lab),
    seeds: Optional[int] = seeds_option(None, "arm"),
    epochs: Optional[int] = epochs_option(),
    threads: Optional[int] = threads_option(),
    jobs: Optional[int] = jobs_option(),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="A setting for every run. Repeatable."),
    runs_dir: Path = runs_dir_option("Where the lab folder is created."),
    ray: Optional[str] = ray_option(),
) -> None:
    """Run a lab: every arm on every seed, the runs at once on the cores (or on Ray); print each
    run as it ends, then the table and the verdict. The same command again skips what is done
    and resumes what was stopped. Exit 0 when the lab is complete, 130/143 after Ctrl-C/SIGTERM."""
    from ..config import ConfigError
    from ..config.overrides import parse_override
    from ..engine import Control
    from ..experiments.labs import LabError, load_lab
    from ..experiments.labs.reference import expected
    from ..experiments.labs.runner import plan, run, shown
    from ..experiments.labs.stats import num
    from ..experiments.plan import cores
    from ..experiments.trials import local_trials
    from ..tables import fit_text
    from .signals import exit_code, stop_on_signals

    try:
        lab = load_lab(name)
        extra = {}
        for item in set_:
            key, value = parse_override(item)
            extra[".".join(key)] = value
        extra.update({f"train.{k}": v for k, v in (("epochs", epochs), ("threads", threads)) if v is not None})
        jobs = jobs or (1 if ray else min(cores(), lab.run_count(seeds)))
        session = plan(lab, seeds, extra, jobs if not ray else 1)
    except (LabError, ConfigError) as exc:
        fail(str(exc))
    total = len(session.runs)
    time = expected(lab, runs_dir, seeds, extra)
    typer.echo(fit_text(f"lab {lab.name}: {lab.question}"))
    scan = f" × {len(lab.scan.values)} values of {lab.scan.key}" if lab.scan else ""
    typer.echo(fit_text(f"  {len(lab.arms)} arms{scan} × {len(session.seeds)} seeds = {total} runs of {lab.base}, "
                        f"{'on Ray' if ray else f'{jobs} at a time'}" + (f"; {time.text()}" if time else "")))
    control = Control()
    count = [0]

    def on_result(_session, lab_run, summary, how):
        if summary is None:
            return  # done in an earlier session of the lab: its result is in the table
        count[0] += 1
        status = summary.get("status", "?")
        metrics = session.measured.get(lab_run.key, {})
        numbers = "  ".join(f"{k} {num(v)}" for k, v in metrics.items() if k in lab.metrics or k == "diverged")
        if status == "stopped":
            numbers = "(resumes next time)"
        arm, value = lab_run.fields["arm"], lab_run.fields["value"]
        typer.echo(fit_text(f"[{count[0]}/{total}] {arm}{'' if value is None else f' {lab.scan.label}={shown(value)}'} "
                            f"seed {lab_run.seed}: {status}{' (resumed)' if how == 'resumed' else ''}  {numbers}"))

    try:
        with stop_on_signals(control) as received:
            trials = ray_trials(ray, None) if ray else local_trials(jobs, control)
            session = run(session, runs_dir, trials, on_result, should_stop=lambda: control.stop_requested)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    _print_end(session)
    if session.stopped:
        typer.echo("stopped: run the same command again to finish the lab")
        raise typer.Exit(exit_code(received) if received else 1)


@lab_app.command("show")
def lab_show(
    lab: Optional[str] = typer.Argument(None, help="A lab folder, or a lab's name (its newest folder); "
                                                   "default: the newest lab folder.",
                                        autocompletion=_complete_lab),
    runs_dir: Path = runs_dir_option("Where the lab folders are."),
    as_json: bool = json_option("The lab's record (its lab.json: each run's metrics, the verdict)"),
) -> None:
    """A lab run before: its question, the table, the verdict and the lesson, from its lab.json."""
    from ..experiments.labs import LabError, find_lab, lab_paths
    from ..experiments.labs.runner import lab_folders, read_session
    from ..tables import fit_text

    path = Path(lab) if lab is not None else None
    if path is None or not path.is_dir():
        folders = lab_folders(runs_dir, lab)
        if not folders:
            if lab is not None and lab not in lab_paths():  # a lab by that name does not exist: say which is near
                try:
                    find_lab(lab)
                except LabError as exc:
                    fail(str(exc))
            fail(f"no lab folder {'of ' + repr(lab) + ' ' if lab else ''}in {runs_dir}: "
                 "tui-trainer lab run NAME makes one (or give the folder itself)")
        path = folders[0]
    try:
        session = read_session(path)
    except LabError as exc:
        fail(str(exc))
    if as_json:
        return print_json({"folder": str(path), **session.to_json(), "planned": session.planned_count})
    typer.echo(fit_text(f"lab {session.lab.name}: {session.lab.question}"))
    _print_end(session)
    if not session.complete:
        typer.echo(f"{len(session.results)} of {session.planned_count} runs done: tui-trainer lab run "
                   f"{session.lab.name} finishes it")


def _print_end(session) -> None:
    from ..display import duration
    from ..experiments.labs.runner import table_text
    from ..tables import fit_text

    typer.echo("")
    typer.echo(table_text(session) if session.results else "no run has finished yet")
    typer.echo("")
    if session.verdict is not None:
        typer.echo(fit_text(session.verdict.text()))
        typer.echo("\n" + fit_text(f"The lesson: {session.lab.lesson}"))
    weights = " --weights" if "final_weight_norm" in session.lab.metrics else ""
    typer.echo("\n" + fit_text(f"{session.folder} ({duration(session.seconds)}; tui-trainer runs plot "
                               f"{session.folder}{weights} -o lab.png draws its runs)"))

