"""The README and the docs match the tool: the quick start runs, the layout page names every
module and only files that exist, every page the README links to is there, and the README's
table of tricks has every trick."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
LAYOUT = (REPO / "docs" / "contributing.md").read_text(encoding="utf-8").split("## Layout", 1)[1]


def quick_start() -> list[list[str]]:
    block = README.split("<!-- quickstart:start -->")[1].split("<!-- quickstart:end -->")[0]
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("tui-trainer")]


def test_the_quick_start_runs_as_written(tmp_path):
    commands = quick_start()
    assert 3 <= len(commands) <= 6
    assert commands[-1] == ["tui-trainer"]  # the app: opened in a real terminal by tests/test_tui_tmux.py
    env = {k: v for k, v in os.environ.items() if k != "TUI_TRAINER_RUNS"}  # the runs go to ./runs, as for a newcomer
    outputs = []
    for command in commands[:-1]:
        done = subprocess.run([sys.executable, "-m", "tui_trainer", *command[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        outputs.append(done.stdout)
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 2  # the two trainings, each its folder
    listing = outputs[-1]
    assert listing.count("digits-cnn") >= 2 and "BN" in listing


def test_the_layout_names_every_module_and_only_files_that_exist():
    named = set(re.findall(r"`((?:tui_trainer|bench)/[\w/.-]+)`", LAYOUT))
    missing = sorted(path for path in named if not (REPO / path).exists())
    assert not missing, missing
    modules = {str(p.relative_to(REPO)) for p in (REPO / "tui_trainer").rglob("*.py") if p.name != "__init__.py"}
    scripts = {str(p.relative_to(REPO)) for p in (REPO / "bench").iterdir() if p.suffix in (".py", ".sh")}
    unnamed = sorted((modules | scripts) - named)
    assert not unnamed, f"name these in docs/contributing.md's layout: {unnamed}"


def test_every_page_the_readme_links_to_exists():
    links = re.findall(r"\]\(((?:docs/)[^)#]+)", README)
    assert len(set(links)) >= 8
    missing = sorted({link for link in links if not (REPO / link).exists()})
    assert not missing, missing


def test_the_readme_lists_every_trick_with_its_switch():
    from tui_trainer.config.tricks import TRICKS

    for trick in TRICKS.values():
        assert f"| {trick.title} | `--{trick.flag}` |" in README, trick.name


def test_every_file_a_docs_page_links_to_exists():
    missing = []
    for page in sorted((REPO / "docs").glob("*.md")):
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / link).exists():
                missing.append(f"{page.name}: {link}")
    assert not missing, missing


def test_every_bundled_lab_has_its_measured_row_in_the_labs_page():
    from tui_trainer.experiments.labs import lab_paths

    page = (REPO / "docs" / "labs.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([\w-]+)` \|", page, flags=re.MULTILINE))
    bundled = {name for name, path in lab_paths().items() if "presets" in path.parts}
    assert bundled <= rows, f"labs without a row in docs/labs.md: {sorted(bundled - rows)}"
    count = README.split(" labs answer the classic questions")[0].split()[-1]
    words = {"fifteen": 15, "sixteen": 16, "seventeen": 17}
    assert words.get(count) == len(bundled), f"the README says {count} labs; there are {len(bundled)}"


def train_lines() -> list[tuple[str, list[str]]]:
    """Every `tui-trainer train PRESET ... --set ...` line of the README and the docs, with its file
    (lines about files of the reader's own, or a run to resume, left out)."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("tui-trainer train ") and "--set" in line and not any(
                    mark in line for mark in ("--resume", "<", "my-preset", "data.path=")):
                found.append((path.name, shlex.split(line)[2:]))
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


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every `tui-trainer ...` command line of the README and the docs (a line continued with a
    backslash joined), with its file; lines naming files of the reader's own left out."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("tui-trainer") and "<" not in line and "|" not in line and ">" not in line:
                found.append((path.name, shlex.split(line)[1:]))
    return found


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


def test_every_documented_training_is_accepted_here_before_it_would_train():
    """Each documented `train` line, its settings as train applies them, prepared as a run would
    be (data loaded, model built, every trick checked against this machine) without training:
    what would refuse to start on a reader's machine fails here. Lines that need a download (the
    torchvision datasets) are left to tests/test_images.py's files in the real format."""
    import typer.main

    from tui_trainer.cli import optional_values
    from tui_trainer.cli.app import app
    from tui_trainer.cli.common import train_overrides
    from tui_trainer.cli.switches import switch_overrides
    from tui_trainer.config.presets import load_preset
    from tui_trainer.config.tricks import TRICKS
    from tui_trainer.launcher import Launcher

    train = typer.main.get_command(app).commands["train"]
    prepared = 0
    for name, args in documented_commands():
        if args[:1] != ["train"] or "--resume" in args or any(a.endswith(".toml") for a in args):
            continue
        given = train.make_context("tui-trainer train", optional_values(args[1:])).params
        switches = {trick: given[trick] for trick in TRICKS}
        overrides = train_overrides([*given["set_"], *switch_overrides(switches)], epochs=given["epochs"],
                                    seed=given["seed"], lr=given["lr"], device=given["device"], threads=1)
        config, _ = load_preset(given["preset"] or "cnn-mnist1d", overrides)
        if config.data.dataset in ("mnist", "fashion_mnist", "cifar10", "image_folder"):
            continue  # a download, or the reader's own pictures
        Launcher(config).prepare()  # raises, in one line, whatever would refuse to start
        prepared += 1
    assert prepared >= 12
