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
