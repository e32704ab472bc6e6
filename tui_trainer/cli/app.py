"""Typer commands: ``train`` and ``presets list|show|validate``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..config import ConfigError, dumps_config
from ..config.presets import DEFAULT_PRESET, list_presets, load_preset
from ..errors import UserError

app = typer.Typer(
    help="A PyTorch trainer that lives in the terminal. With no command it opens the app on the default preset; "
    "`train` runs a preset headless; `presets list` shows the presets.",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
presets_app = typer.Typer(help="List, show and validate presets.", no_args_is_help=True)
app.add_typer(presets_app, name="presets")
runs_app = typer.Typer(help="Look at past runs: list, show, compare, plot, export.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context) -> None:
    """Open the app when no command is given."""
    if ctx.invoked_subcommand is None:
        _open_app(None, Path("runs"), None)


@app.command()
def tui(
    preset: Optional[str] = typer.Argument(None, help="Preset name or path to open (default cnn-mnist1d)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run folders are created.", envvar="TUI_TRAINER_RUNS"),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: 1 beside the UI, or the preset's train.threads)."),
) -> None:
    """Open the app: pick a preset, switch the tricks, train and watch it live."""
    _open_app(preset, runs_dir, threads)


def _open_app(preset: Optional[str], runs_dir: Path, threads: Optional[int]) -> None:
    from ..tui import TrainerApp

    try:
        TrainerApp(preset, runs_dir, threads).run()
    except UserError as exc:
        fail(str(exc), exc.exit_code)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _trick_switches(**switches: Optional[bool]) -> list[tuple[str, bool, str]]:
    return [
        (f"tricks.{name}.enabled", value, f"--{'' if value else 'no-'}{name.replace('_', '-')}")
        for name, value in switches.items()
        if value is not None
    ]


@app.command()
def train(
    preset: Optional[str] = typer.Argument(None, help="Preset name (see `presets list`) or path to a .toml file (default cnn-mnist1d).", show_default=False),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Override any setting, e.g. --set train.lr=0.01 --set tricks.lr_schedule.kind=step. Repeatable."),
    batchnorm: Optional[bool] = typer.Option(None, "--batchnorm/--no-batchnorm", help="Switch BatchNorm on or off.", show_default=False),
    dropout: Optional[bool] = typer.Option(None, "--dropout/--no-dropout", help="Switch Dropout on or off.", show_default=False),
    lr_schedule: Optional[bool] = typer.Option(None, "--lr-schedule/--no-lr-schedule", help="Switch the LR schedule on or off (off = constant LR).", show_default=False),
    grad_clip: Optional[bool] = typer.Option(None, "--grad-clip/--no-grad-clip", help="Switch gradient clipping on or off.", show_default=False),
    weight_decay: Optional[bool] = typer.Option(None, "--weight-decay/--no-weight-decay", help="Switch weight decay on or off.", show_default=False),
    early_stopping: Optional[bool] = typer.Option(None, "--early-stopping/--no-early-stopping", help="Switch early stopping on or off.", show_default=False),
    mixed_precision: Optional[bool] = typer.Option(None, "--mixed-precision/--no-mixed-precision", help="Switch mixed precision (autocast) on or off.", show_default=False),
    epochs: Optional[int] = typer.Option(None, "--epochs", "-e", help="Maximum epochs (train.epochs)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of initialisation, shuffling and dropout (train.seed)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Base learning rate (train.lr)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or mps (train.device)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch; 0 = one per core (train.threads)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run folders are created.", envvar="TUI_TRAINER_RUNS"),
    json_: Optional[bool] = typer.Option(None, "--json/--no-json", help="One JSON object per event and line (default when stdout is not a terminal).", show_default=False),
    resume: Optional[Path] = typer.Option(None, "--resume", metavar="RUN_DIR", help="Continue a stopped or killed run from its last.pt, in its own folder, with its own config (only --threads and --json may be given with it)."),
) -> None:
    """Train a preset headless, with a live progress bar (or JSON lines), and leave a run folder."""
    overrides: list = list(set_)
    overrides.extend(
        _trick_switches(
            batchnorm=batchnorm,
            dropout=dropout,
            lr_schedule=lr_schedule,
            grad_clip=grad_clip,
            weight_decay=weight_decay,
            early_stopping=early_stopping,
            mixed_precision=mixed_precision,
        )
    )
    for key, value in (("epochs", epochs), ("seed", seed), ("lr", lr), ("device", device)):
        if value is not None:
            overrides.append((f"train.{key}", value, f"--{key} {value}"))
    if resume is not None and (preset is not None or overrides):
        given = [preset] if preset is not None else []
        given += [o if isinstance(o, str) else o[2] for o in overrides]
        fail(f"--resume continues a run with the config in its folder; drop {', '.join(given)} "
             "(to change settings, start a new run)")
    if threads is not None:
        overrides.append(("train.threads", threads, f"--threads {threads}"))
    resumed = None
    try:
        if resume is not None:
            from ..engine.checkpoint import load_resume

            config, last, best = load_resume(resume)
            resumed = (last, best)
            if threads is not None:
                from ..config import replace

                config = replace(config, {"train.threads": threads})
        else:
            config, _ = load_preset(preset or DEFAULT_PRESET, overrides)
    except ConfigError as exc:
        fail(str(exc))
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    as_json = json_ if json_ is not None else not sys.stdout.isatty()

    from ..engine import Control, Trainer
    from ..runs import RunFolder
    from .reporter import JsonReporter, ProgressReporter

    control = Control()
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)
        name = signal.Signals(signum).name
        control.stop(f"interrupted by {name}")
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once

    reporter = JsonReporter() if as_json else ProgressReporter()
    try:
        trainer = Trainer(config, sinks=[reporter], resume=resumed)
        trainer.prepare()  # refuses tricks that cannot apply here before creating anything
        trainer.run_folder = RunFolder(resume) if resume is not None else RunFolder.create(runs_dir, config.name)
        trainer.sinks.insert(0, trainer.run_folder.sink)
        previous = {s: signal.signal(s, on_signal) for s in EXIT_INTERRUPTED}
        try:
            result = trainer.run(control)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    except UserError as exc:
        reporter.close()
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:  # before training started, or a second Ctrl-C
        reporter.close()
        fail("interrupted", 130)
    reporter.close()
    if received:
        raise typer.Exit(EXIT_INTERRUPTED[received[0]])
    if result.status in ("diverged", "failed"):
        raise typer.Exit(1)


@presets_app.command("list")
def presets_list() -> None:
    """The presets found in ./presets, the user's preset folder and the package."""
    from ..config import load_config

    entries = list_presets()
    if not entries:
        typer.echo("no presets found")
        return
    rows = []
    for entry in entries:
        try:
            c = load_config(entry.path)
            rows.append((entry.name, c.model.kind, ",".join(c.tricks_on()) or "-", entry.origin, c.description))
        except ConfigError as exc:
            rows.append((entry.name, "?", "?", entry.origin, f"invalid: {exc.problems[0]}"))
    widths = [max(len(r[i]) for r in rows + [("name", "model", "tricks on", "origin", "")]) for i in range(4)]
    header = ("name", "model", "tricks on", "origin", "description")
    for row in [header, *rows]:
        typer.echo("  ".join(col.ljust(w) for col, w in zip(row[:4], widths)) + "  " + row[4])


@presets_app.command("show")
def presets_show(name: str = typer.Argument(..., help="Preset name or path.")) -> None:
    """Print the preset with every setting resolved (defaults filled in)."""
    try:
        config, path = load_preset(name)
    except ConfigError as exc:
        fail(str(exc))
    typer.echo(f"# {path}")
    typer.echo(dumps_config(config), nl=False)


@presets_app.command("validate")
def presets_validate(files: List[str] = typer.Argument(..., help="Preset files or names.")) -> None:
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


@app.command()
def watch(
    run: str = typer.Argument(..., help="Run folder, id, a unique part of the id, or `latest`."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="The runs folder (to find RUN by id).", envvar="TUI_TRAINER_RUNS"),
) -> None:
    """Follow a run another process is writing (or show a finished one) in the app, read-only."""
    from ..runs.catalog import resolve_run
    from ..tui.watch import watch_run

    try:
        info = resolve_run(run, runs_dir)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    watch_run(info.path)


# -- ablate ----------------------------------------------------------------------------


@app.command()
def ablate(
    preset: str = typer.Argument(DEFAULT_PRESET, help="Preset name or path."),
    tricks: Optional[str] = typer.Option(None, "--tricks", help="Comma-separated tricks to switch, e.g. batchnorm,dropout (default: all seven)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per variant (train.seed, train.seed+1, ...); differences are paired by seed."),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Override a setting of the preset for every variant. Repeatable."),
    epochs: Optional[int] = typer.Option(None, "--epochs", "-e", help="Maximum epochs (train.epochs)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (train.threads)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where the ablation folder is created.", envvar="TUI_TRAINER_RUNS"),
) -> None:
    """Train the preset, then once per trick with only that trick switched, on the same seeds; print what each trick changes."""
    overrides: list = list(set_)
    for key, value in (("epochs", epochs), ("threads", threads)):
        if value is not None:
            overrides.append((f"train.{key}", value, f"--{key} {value}"))
    try:
        config, _ = load_preset(preset, overrides)
    except ConfigError as exc:
        fail(str(exc))
    from .. import ablate as ab
    from ..engine import Control

    try:
        plan = ab.plan(config, [t.strip() for t in tricks.split(",") if t.strip()] if tricks else None, seeds, ab.why_not_here)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    total = len(plan.variants) * len(plan.seeds)
    typer.echo(f"ablation of {plan.preset}: {len(plan.variants)} variants x {len(plan.seeds)} seeds = {total} runs")
    for trick, why in plan.not_run:
        typer.echo(f"not run: {trick}: {why}")
    control = Control()
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)
        control.stop(f"interrupted by {signal.Signals(signum).name}")
        signal.signal(signum, signal.SIG_DFL)

    done = [0]

    def on_result(ablation, variant, seed, summary):
        done[0] += 1
        from ..display import duration, fmt

        typer.echo(f"[{done[0]}/{total}] {variant.name:<17} seed {seed}: {summary['status']:<13} best val loss "
                   f"{fmt(summary.get('best_val_loss'))}  test acc {fmt(summary.get('test_accuracy'))}  "
                   f"best epoch {summary.get('best_epoch') or '-'}  {duration(summary.get('wall_seconds'))}")

    previous = {s: signal.signal(s, on_signal) for s in EXIT_INTERRUPTED}
    try:
        ab.run(plan, runs_dir, ab.local_trainer(lambda: control), on_result, should_stop=lambda: control.stop_requested)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    typer.echo("")
    typer.echo(ab.table_text(plan))
    if received:
        raise typer.Exit(EXIT_INTERRUPTED[received[0]])


# -- runs ------------------------------------------------------------------------------

RunsDir = typer.Option(Path("runs"), "--runs-dir", help="The runs folder.", envvar="TUI_TRAINER_RUNS")


def _resolve(refs: List[str], runs_dir: Path):
    from ..runs.catalog import resolve_run

    try:
        return [resolve_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        fail(str(exc), exc.exit_code)


@runs_app.command("list")
def runs_list(runs_dir: Path = RunsDir) -> None:
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
def runs_show(run: str = typer.Argument(..., help="Run folder, id, a unique part of the id, or `latest`."), runs_dir: Path = RunsDir) -> None:
    """One run: its results, files and the settings that differ from the defaults."""
    from ..runs.catalog import show_text

    [info] = _resolve([run], runs_dir)
    typer.echo(show_text(info))


@runs_app.command("compare")
def runs_compare(runs: List[str] = typer.Argument(..., help="Two or more runs (folder, id or unique part)."), runs_dir: Path = RunsDir) -> None:
    """The settings that differ between runs, and their results side by side."""
    from ..runs.catalog import compare_text

    if len(runs) < 2:
        fail("compare needs two or more runs")
    typer.echo(compare_text(_resolve(runs, runs_dir)))


@runs_app.command("plot")
def runs_plot(
    runs: List[str] = typer.Argument(..., help="One or more runs (folder, id or unique part)."),
    output: Path = typer.Option(..., "--output", "-o", help="The PNG file to write."),
    runs_dir: Path = RunsDir,
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
    run: str = typer.Argument(..., help="Run folder, id, a unique part of the id, or `latest`."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV file to write (default: standard output)."),
    epochs: bool = typer.Option(False, "--epochs", help="One row per epoch (train/val loss, accuracy, LR, patience) instead of one per step."),
    runs_dir: Path = RunsDir,
) -> None:
    """A run's metrics as CSV: per step (loss, gradient norm, LR) or per epoch."""
    from ..runs.atomic import atomic_write_text
    from ..runs.catalog import epochs_csv, read_curves, steps_csv

    [info] = _resolve([run], runs_dir)
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

