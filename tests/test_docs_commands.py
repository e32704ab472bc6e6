"""Every command line of the README and the docs works as written: each one parses, each
``--set`` of a preset loads, and each one that trains runs, page by page in the page's order,
on a toy budget (one epoch of at most 256 training samples, one seed, one thread). What a line
names as the reader's own (a preset file, a folder of pictures, an interrupted run) is made
first, and CIFAR-10's batches are written in their real format: nothing downloads."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from helpers import REPO, cifar_batches, install_example_plugin, png

from tui_trainer.usercode import plugins

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def page_lines(path: Path) -> list[str]:
    """The lines of a page, a line continued with a backslash joined, a comment after two spaces cut."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in text.splitlines()]


def train_lines() -> list[tuple[str, list[str]]]:
    """Every `tui-trainer train PRESET ... --set ...` line of the README and the docs, with its file
    (lines about files of the reader's own, or a run to resume, left out)."""
    found = []
    for path in PAGES:
        for line in page_lines(path):
            if line.startswith("tui-trainer train ") and "--set" in line and not any(
                    mark in line for mark in ("--resume", "<", "my-preset", "data.path=")):
                found.append((path.name, shlex.split(line)[2:]))
    return found


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every `tui-trainer ...` command line of the README and the docs, with its file; lines that
    redirect or pipe, or name a placeholder (`<run>`), left out."""
    found = []
    for path in PAGES:
        for line in page_lines(path):
            if line.startswith("tui-trainer") and "<" not in line and "|" not in line and ">" not in line:
                found.append((path.name, shlex.split(line)[1:]))
    return found


def test_every_documented_set_of_a_preset_loads():
    """The documented `--set`s load as written: a rule that refuses them (one-cycle with the
    preset's warm-up, once) shows up here, not on a reader's screen."""
    from tui_trainer.cli.common import train_overrides
    from tui_trainer.config.presets import load_preset

    lines = train_lines()
    assert any("tricks.lr_schedule.kind=onecycle" in args for _, args in lines)
    for name, args in lines:
        sets = [args[i + 1] for i, arg in enumerate(args) if arg in ("--set", "-s")]
        load_preset(args[0], train_overrides(sets))  # raises, with the key, where a line is wrong


def test_every_documented_command_parses_as_written():
    """Each documented command's options exist and take the values given (a renamed option, a
    value of the wrong type, a preset or lab that is gone shows up here, not on a reader's screen)."""
    import typer.main

    from tui_trainer.cli import optional_values
    from tui_trainer.cli.app import app
    from tui_trainer.config.presets import list_presets
    from tui_trainer.experiments.labs import lab_paths

    group = typer.main.get_command(app)
    presets, labs = {p.name for p in list_presets()}, set(lab_paths())
    commands = documented_commands()
    assert len(commands) >= 60
    for name, args in commands:
        command, rest, words = group, optional_values(args), []  # as the tui-trainer script reads them
        while hasattr(command, "commands") and rest and rest[0] in command.commands:
            words.append(rest[0])
            command = command.commands[rest.pop(0)]
        try:  # typer carries its own click: its exceptions are told by their names
            context = command.make_context(" ".join(["tui-trainer", *words]), rest, resilient_parsing=False)
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "Exit":
                continue  # --help, --version
            raise AssertionError(f"{name}: tui-trainer {' '.join(args)}: {exc}") from None
        given = context.params
        if words[:1] in (["train"], ["ablate"], ["sweep"], ["lr-find"], ["tui"], ["data"]) and given.get("preset"):
            preset = given["preset"]
            assert preset.endswith(".toml") or preset in presets, f"{name}: no preset {preset!r}"
        if words == ["lab", "run"]:
            assert given["name"] in labs, f"{name}: no lab {given['name']!r}"


# -- the lines that train, run ------------------------------------------------------------------

TOY = ["--epochs", "1", "--set", "data.train_limit=256", "--threads", "1"]
BUDGET = {  # appended to a line as written: the last of a repeated option wins
    "train": TOY,
    "ablate": [*TOY, "--seeds", "1", "--jobs", "1"],
    "sweep": [*TOY, "--seeds", "1", "--jobs", "1"],
    "lab run": [*TOY, "--seeds", "1", "--jobs", "1"],
    "lr-find": ["--steps", "10", "--threads", "1"],
    "generate": [],
    "runs treat": ["--seeds", "2", "--epochs", "1", "--jobs", "1", "--threads", "1"],
}


def trains(args: list[str]) -> str | None:
    """The command a line runs, where it trains (or samples a trained model), else None."""
    kind = " ".join(args[:2]) if args[:1] in (["lab"], ["runs"]) else (args[0] if args else "")
    return kind if kind in BUDGET else None


def sick_run(folder: Path) -> None:
    """A run that over-fits in ``folder``, as the doctor's pages treat it: its events made by hand,
    its settings small enough to train in a second (``runs treat`` trains them)."""
    from doctor_runs import events, falling, rising_val
    from helpers import make_config, write_run

    config = make_config({"data.train_limit": 256, "model.cnn.channels": [8], "train.batch_size": 64,
                          "tricks.dropout.enabled": False, "tricks.early_stopping.enabled": False})
    write_run(folder.parent, folder.name, config, events(falling(16), rising_val(8, 16, 0.4), patience=None))


def on_a_cluster(args: list[str]) -> bool:
    """`--ray HEAD:6379`: a Ray cluster of the reader's, which no test has."""
    return any(a == "--ray" and i + 1 < len(args) and not args[i + 1].startswith("-") for i, a in enumerate(args))


def readers_files(folder: Path) -> None:
    """What the docs' lines name as the reader's own: a preset file, presets in ./presets, a folder
    of pets (one sub-folder of pictures per class), and the examples of a checkout of the repository."""
    (folder / "examples").symlink_to(REPO / "examples")
    bundled = REPO / "tui_trainer" / "presets" / "cnn-mnist1d.toml"
    shutil.copy(bundled, folder / "my-preset.toml")
    (folder / "presets").mkdir()
    for name in ("cnn-mnist1d.toml", "mine.toml"):
        shutil.copy(bundled, folder / "presets" / name)
    for kind, color in (("cats", (200, 120, 40)), ("dogs", (40, 80, 200))):
        (folder / "pets" / kind).mkdir(parents=True)
        for i in range(10):
            (folder / "pets" / kind / f"{i}.png").write_bytes(png(color, size=(80, 60)))


def cache_with_cifar10(folder: Path) -> Path:
    """A data cache holding the session's MNIST-1D and CIFAR-10's python batches (40 images in
    each), as torchvision leaves them unpacked: CIFAR-10 never reaches the session's own cache."""
    folder.mkdir()
    for made in Path(os.environ["TUI_TRAINER_CACHE"]).glob("mnist1d-*"):
        (folder / made.name).symlink_to(made)
    batches = folder / "torchvision" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name, payload in cifar_batches(40).items():
        (batches / name).write_bytes(payload)
    return folder


def interrupted_run(folder: Path) -> None:
    """A toy cnn-mnist1d run in ``folder``, stopped after its first step as Ctrl-C leaves one."""
    from tui_trainer.cli.common import train_overrides
    from tui_trainer.config.presets import load_preset
    from tui_trainer.engine.commands import Stop
    from tui_trainer.engine.control import Control
    from tui_trainer.engine.events import StepStats
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder

    config, _ = load_preset("cnn-mnist1d", train_overrides(["data.train_limit=256"], epochs=2, threads=1))
    control = Control()

    def stop(event) -> None:
        if isinstance(event, StepStats):
            control.submit(Stop("Ctrl-C"))

    folder.mkdir(parents=True)
    assert Trainer(config, run_folder=RunFolder(folder), sinks=[stop]).run(control).status == "stopped"


def refusal_here(args: list[str]) -> str | None:
    """Why this machine refuses a `train` line as it should (mixed precision on a CPU without
    native bf16: one line, exit 2, naming --no-mixed-precision), or None."""
    import typer.main

    from tui_trainer.cli import optional_values
    from tui_trainer.cli.app import app
    from tui_trainer.cli.common import train_overrides
    from tui_trainer.cli.switches import switch_overrides
    from tui_trainer.config.presets import load_preset
    from tui_trainer.config.tricks import TRICKS
    from tui_trainer.engine.precision import why_not_here

    if args[:1] != ["train"] or "--resume" in args:
        return None
    train = typer.main.get_command(app).commands["train"]
    given = train.make_context("tui-trainer train", optional_values(args[1:])).params
    switches = switch_overrides({trick: given[trick] for trick in TRICKS})
    config, _ = load_preset(given["preset"] or "cnn-mnist1d", train_overrides([*given["set_"], *switches]))
    return why_not_here(config)


def test_every_documented_command_that_trains_runs_as_written_on_a_toy_budget(tmp_path, monkeypatch, mnist1d,
                                                                                no_batch_checksums):
    from typer.testing import CliRunner

    from tui_trainer.cli import optional_values
    from tui_trainer.cli.app import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUI_TRAINER_RUNS", raising=False)  # runs go to ./runs, as for a reader
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(cache_with_cifar10(tmp_path / "cache")))
    readers_files(tmp_path)
    (tmp_path / "site").mkdir()  # pip install -e examples/plugin, as the docs say
    install_example_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    plugins.forget()
    ran, refused, elsewhere = [], [], []  # refused: on a CPU without native bf16, then trained without it
    for page, args in documented_commands():
        kind = trains(args)
        if kind is None:
            continue
        if on_a_cluster(args):
            elsewhere.append(args)
            continue
        if "--resume" in args:
            target = args[args.index("--resume") + 1]
            interrupted_run(Path("runs") / "20261207-000000-cnn-mnist1d" if target == "latest" else Path(target))
        if kind == "runs treat":  # the run it names (latest: a new one) is one with findings to treat
            target = args[2] if len(args) > 2 and not args[2].startswith("-") else "latest"
            made = Path("runs") / f"{'20261207-000100' if target == 'latest' else target}-cnn-mnist1d"
            if not made.exists():
                sick_run(made)
        line = f"{page}: tui-trainer {shlex.join(args)}"
        budget = [] if "--resume" in args else BUDGET[kind]
        result = CliRunner().invoke(app, optional_values([*args, *budget]))
        why = refusal_here(args)
        if why is not None:  # refused on this machine, in one line, as it should be; then trained as it says
            assert result.exit_code == 2 and why in " ".join(result.output.split()), (line, result.output[-800:])
            refused.append(line)
            result = CliRunner().invoke(app, optional_values([*args, *budget, "--no-mixed-precision"]))
        assert result.exit_code == 0, (line, result.output[-1500:], result.exception)
        ran.append(line)
    assert len(ran) >= 30, ran
    assert all("--ray" in args for args in elsewhere)
    assert (tmp_path / "lr.png").stat().st_size > 0  # lr-find -o lr.png
