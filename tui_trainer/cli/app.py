"""The ``tui-trainer`` command: the app (``tui``, the default), ``train``, ``watch`` and
``ablate``; ``presets ...`` and ``runs ...`` are in their own modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .. import __version__
from ..config.presets import DEFAULT_PRESET, load_preset
from ..config.tricks import TRICKS
from ..errors import UserError
from ..usercode.trust import require_all
from .common import (
    MARKUP,
    complete_preset,
    complete_run,
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
from . import doctor_commands  # noqa: F401  (runs diagnose, runs treat)
from .data_commands import data as data_command
from .generate_command import generate as generate_command
from .lab_commands import lab_app
from .lr_find_command import lr_find as lr_find_command
from .plugins_command import plugins_list
from .open_app import open_app
from .presets_commands import presets_app
from .runs_commands import nudge as nudge_command
from .runs_commands import runs_app
from .sweep_command import sweep as sweep_command
from .switches import switch_overrides, trick_switches

app = typer.Typer(
    help="A PyTorch trainer that lives in the terminal. With no command it opens the app on the default preset; "
    "`train` runs a preset headless; `runs` looks at past runs; `presets list` shows the presets.",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=MARKUP,
)
app.add_typer(presets_app, name="presets")
app.add_typer(runs_app, name="runs")
app.add_typer(lab_app, name="lab")
app.command("data")(data_command)
app.command("generate")(generate_command)
app.command("sweep")(sweep_command)
app.command("lr-find")(lr_find_command)
app.command("plugins")(plugins_list)
app.command("nudge")(nudge_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tui-trainer {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Open the app when no command is given."""
    if ctx.invoked_subcommand is None:
        open_app(None, os.environ.get("TUI_TRAINER_RUNS", "runs"), None)


TUI_THREADS_HELP = ("CPU threads for torch in every run the app starts (default: the preset's train.threads; "
                    "0 = one per core, as train).")


@app.command()
def tui(
    preset: Optional[str] = typer.Argument(None, help="Preset name or path to open (default cnn-mnist1d).",
                                           autocompletion=complete_preset),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override a setting of the preset the app opens on, e.g. --set train.lr=0.01. "
                                        "Repeatable."),
    epochs: Optional[int] = epochs_option(),
    runs_dir: Path = runs_dir_option("Where run folders are created."),
    threads: Optional[int] = typer.Option(None, "--threads", help=TUI_THREADS_HELP),
) -> None:
    """Open the app: pick a preset, switch the tricks, train and watch it live."""
    open_app(preset, runs_dir, threads, train_overrides(set_, epochs=epochs))


@app.command()
@trick_switches(after="set_")  # --batchnorm/--no-batchnorm and the rest, one per trick
def train(
    ctx: typer.Context,
    preset: Optional[str] = typer.Argument(None, help="Preset name (see `presets list`) or path to a "
                                                      ".toml file (default cnn-mnist1d).",
                                           show_default=False, autocompletion=complete_preset),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override any setting, e.g. --set train.lr=0.01 --set "
                                        "tricks.lr_schedule.kind=step. Repeatable."),
    epochs: Optional[int] = epochs_option(),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of initialisation, "
                                                            "shuffling and dropout (train.seed)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Base learning rate (train.lr)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or mps (train.device)."),
    threads: Optional[int] = threads_option(),
    yes: bool = yes_option(),
    runs_dir: Path = runs_dir_option("Where run folders are created."),
    json_: Optional[bool] = typer.Option(None, "--json/--no-json",
                                         help="One JSON object per event and line (default "
                                              "when stdout is not a terminal).", show_default=False),
    resume: Optional[str] = typer.Option(None, "--resume", metavar="RUN", autocompletion=complete_run,
                                         help="Continue a stopped or killed run (its folder, id, a unique part of the "
                                              "id, or latest) from its last.pt, in its own folder, with its own config "
                                              "(only --threads, --json, --nproc and --tensorboard may be given with "
                                              "it)."),
    tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR",
                                               help="Also write the run as TensorBoard scalars, live, in DIR/<run "
                                                    "folder name> (needs tensorboard)."),
    nproc: Optional[int] = typer.Option(None, "--nproc", min=1, metavar="N",
                                        help="Train on N processes of this machine with DistributedDataParallel (as "
                                             "torchrun --nproc-per-node N; gloo on the CPU, nccl on GPUs); the "
                                             "batch size is the global batch."),
    **switches: Optional[bool],
) -> None:
    """Train a preset headless, with a live progress bar (or JSON lines), and leave a run folder."""
    from .headless import check_preset, launcher_for, run_headless, run_on_processes

    overrides = train_overrides([*set_, *switch_overrides(switches)], epochs=epochs, seed=seed, lr=lr, device=device)
    if resume is not None and (preset is not None or overrides):
        given = [preset] if preset is not None else []
        given += [o if isinstance(o, str) else o[2] for o in overrides]
        fail(f"--resume continues a run with the config in its folder; drop {', '.join(given)} "
             "(to change settings, start a new run)")
    if resume is None:
        check_preset(preset, overrides, threads)  # a mistake is told before torch is imported (about 2 s)
    from ..engine.distributed import Distributed

    dist = Distributed.from_env()  # under torchrun: this process's rank; process 0 alone speaks
    launcher = launcher_for(preset, overrides, resume, threads, runs_dir, dist)
    if nproc is not None and nproc > 1 and not dist.enabled:
        raise typer.Exit(run_on_processes(ctx, launcher.config, nproc))
    as_json = json_ if json_ is not None else not sys.stdout.isatty()
    raise typer.Exit(run_headless(launcher, dist, as_json, tensorboard))


@app.command()
def watch(
    run: str = typer.Argument(..., help="Run folder, id, a unique part of the id, or `latest`.",
                              autocompletion=complete_run),
    runs_dir: Path = runs_dir_option("The runs folder (to find RUN by id)."),
) -> None:
    """Follow a run another process is writing (or show a finished one) in the app, read-only."""
    from ..runs.catalog import resolve_run
    from ..tui.watch import watch_run

    try:
        info = resolve_run(run, runs_dir)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    watch_run(info.path)


@app.command()
def ablate(
    preset: str = typer.Argument(DEFAULT_PRESET, help="Preset name or path.", autocompletion=complete_preset),
    tricks: Optional[str] = typer.Option(None, "--tricks", help="Comma-separated tricks to "
                                                                f"switch, of {', '.join(TRICKS)} "
                                                                "(default: every trick that applies)."),
    seeds: int = seeds_option(3, "variant; differences are paired by seed"),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override a setting of the preset for every variant. Repeatable."),
    epochs: Optional[int] = epochs_option(),
    threads: Optional[int] = threads_option(),
    yes: bool = yes_option(),
    runs_dir: Path = runs_dir_option("Where the ablation folder is created."),
    jobs: Optional[int] = jobs_option(),
    ray: Optional[str] = ray_option(),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", metavar="K",
                                                 help="With --ray: at most K runs at once "
                                                      "(default: as many as the CPUs allow)."),
) -> None:
    """Train the preset, then once per trick with only that trick switched, on the same seeds; print what each
    trick changes."""
    jobs = jobs or 1
    try:
        config, _ = load_preset(preset, train_overrides(set_, epochs=epochs, threads=threads_for(jobs, threads)))
        require_all(config)  # the preset's own code: found, and said yes to
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    from ..experiments import ablate as ablation
    from ..display import duration, fmt, headline
    from ..engine import Control
    from ..engine.precision import why_not_here
    from ..experiments.trials import local_trials
    from .signals import exit_code, stop_on_signals

    try:
        plan = ablation.plan(config, [t.strip() for t in tricks.split(",") if t.strip()] if tricks else None, seeds,
                             why_not_here)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    total = len(plan.variants) * len(plan.seeds)
    typer.echo(f"ablation of {plan.preset}: {len(plan.variants)} variants x {len(plan.seeds)} seeds = {total} runs")
    for trick, why in plan.not_run:
        typer.echo(f"not run: {trick}: {why}")
    control = Control()
    done = [0]

    def on_result(_ablation, run, summary, _how):
        done[0] += 1
        typer.echo(f"[{done[0]}/{total}] {run.label:<17} seed {run.seed}: {summary['status']:<13} best val loss "
                   f"{fmt(summary.get('best_val_loss'))}  {' '.join(map(fmt, headline(summary, short=True)))}  "
                   f"best epoch {summary.get('best_epoch') or '-'}  {duration(summary.get('wall_seconds'))}")

    try:
        with stop_on_signals(control) as received:
            trials = ray_trials(ray, max_concurrent) if ray else local_trials(jobs, control)
            ablation.run(plan, runs_dir, trials, on_result, should_stop=lambda: control.stop_requested)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    typer.echo("")
    typer.echo(ablation.table_text(plan))
    if received:
        raise typer.Exit(exit_code(received))
