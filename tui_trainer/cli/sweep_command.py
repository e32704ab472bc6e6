"""``tui-trainer sweep PRESET --grid KEY=V1,V2 ... --seeds N``: a grid over any settings, across seeds."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..config.presets import DEFAULT_PRESET, load_preset
from ..errors import UserError
from ..usercode.trust import require_all
from .common import (
    complete_preset,
    epochs_option,
    fail,
    jobs_option,
    ray_option,
    ray_trials,
    runs_dir_option,
    seeds_option,
    threads_for,
    threads_option,
    train_overrides,
    yes_option,
)


def sweep(
    preset: str = typer.Argument(DEFAULT_PRESET, help="Preset name or path.", autocompletion=complete_preset),
    grid: List[str] = typer.Option([], "--grid", "-g", metavar="KEY=V1,V2",
                                   help="A setting and its values to try. Repeatable: "
                                   "every combination is trained."),
    seeds: int = seeds_option(3, "grid point"),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override a setting for every trial. Repeatable."),
    epochs: Optional[int] = epochs_option(),
    threads: Optional[int] = threads_option(),
    yes: bool = yes_option(),
    runs_dir: Path = runs_dir_option("Where the sweep folder is created."),
    jobs: Optional[int] = jobs_option(),
    ray: Optional[str] = ray_option(),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", metavar="K",
                                                 help="With --ray: at most K trials at once "
                                                      "(default: as many as the CPUs allow)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="asha",
                                            help="asha: stop trials whose val loss falls behind at epochs grace, "
                                                 "grace×3, grace×9, ... (Ray Tune's "
                                                 "ASHAScheduler; needs the ray extra)."),
    grace_epochs: int = typer.Option(1, "--grace-epochs", help="With --scheduler asha: epochs every trial "
                                                               "trains before it can be stopped."),
    prune: Optional[str] = typer.Option(None, "--prune", metavar="doctor",
                                        help="doctor: stop a trial once the doctor is sure it went wrong (an LR "
                                             "that throws the loss off, exploding or vanishing gradients)."),
) -> None:
    """Train every combination of the grid on every seed, one trial after another (--jobs: several
    at once; or on Ray); print them best first by the task's headline test metric. The same command again skips
    the trials that are complete and resumes the stopped ones. Exit code 0 when every trial is done,
    130/143 after Ctrl-C/SIGTERM, 1 when stopped from the app's Runs view (x)."""
    try:
        config, _ = load_preset(preset, train_overrides(set_, epochs=epochs, threads=threads_for(jobs or 1, threads)))
        require_all(config)  # the preset's own code: found, and said yes to
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    from ..experiments import sweep as sweeps
    from ..display import duration, fmt, headline
    from ..engine import Control
    from ..experiments.pruning import SCHEDULERS, AshaPruner, Pruners
    from ..experiments.trials import local_trials
    from .signals import exit_code, stop_on_signals

    if scheduler is not None and scheduler not in SCHEDULERS:
        fail(f"--scheduler {scheduler}: choose {' or '.join(SCHEDULERS)}")
    if prune is not None and prune != "doctor":
        fail(f"--prune {prune}: choose doctor (ASHA is --scheduler asha)")
    try:
        plan = sweeps.plan(config, sweeps.parse_grid(grid), seeds)
        pruners = [AshaPruner(config.train.epochs, grace_epochs)] if scheduler == "asha" else []
        if prune == "doctor":
            from ..doctor.prune import DoctorPruner

            pruners.append(DoctorPruner())
        pruner = Pruners(pruners) if len(pruners) > 1 else (pruners[0] if pruners else None)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    total = len(plan.trials)
    typer.echo(f"sweep of {plan.preset}: {total // len(plan.seeds)} grid points x "
               f"{len(plan.seeds)} seeds = {total} trials")
    control = Control()
    done = [0]

    def on_result(_sweep, trial, summary, how):
        done[0] += 1
        if how == "skipped":
            typer.echo(f"[{done[0]}/{total}] {trial.key}: complete already, skipped")
            return
        typer.echo(f"[{done[0]}/{total}] {trial.key}: {summary['status']}{' (resumed)' if how == 'resumed' else ''}  "
                   f"{' '.join(map(fmt, headline(summary, short=True)))}  best val loss "
                   f"{fmt(summary.get('best_val_loss'))}  {duration(summary.get('wall_seconds'))}")

    try:
        with stop_on_signals(control) as received:
            trials = ray_trials(ray, max_concurrent) if ray else local_trials(jobs or 1, control)
            sweeps.run(plan, config, runs_dir, trials, on_result, should_stop=lambda: control.stop_requested,
                       pruner=pruner)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    typer.echo("")
    typer.echo(sweeps.table_text(plan))
    if received or plan.stopped:
        typer.echo("stopped: run the same command again to resume")
        raise typer.Exit(exit_code(received) if received else 1)
