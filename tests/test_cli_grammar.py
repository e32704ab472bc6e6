"""One grammar for the CLI, and messages that name what to fix: the same option means the same
thing in every command, every command that takes a run takes `latest`, switches show no type,
a setting the chosen dataset or model does not read is refused, and listing presets needs no
torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tui_trainer.cli.app import app


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})  # help on one line each
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [[], ["train"], ["tui"], ["ablate"], ["sweep"], ["lab", "run"], ["runs", "export"],
                                     ["runs", "list"], ["presets", "list"], ["lr-find"], ["watch"]])
def test_no_switch_shows_a_type_as_if_it_took_a_value(command):
    code, out = invoke(*command, "--help")
    assert code == 0
    assert "<bool>" not in out
    assert "--help" in out


@pytest.mark.parametrize("command", [["sweep", "digits-cnn", "--grid", "train.lr=0.1"], ["ablate", "digits-cnn"],
                                     ["lab", "run", "overfitting"]])
def test_seeds_is_checked_by_its_type_in_every_command(command):
    code, out = invoke(*command, "--seeds", "0")
    assert code == 2
    assert out == "error: --seeds 0: must be at least 1\n"


def test_the_commands_that_train_share_epochs_and_threads():
    for command in (["train"], ["ablate"], ["sweep"], ["lab", "run"], ["tui"]):
        code, out = invoke(*command, "--help")
        assert code == 0
        assert "Maximum epochs of each run (train.epochs)" in out, command
        assert "--threads" in out, command
    for command in (["train"], ["ablate"], ["sweep"], ["lab", "run"], ["tui"]):
        assert "--set" in invoke(*command, "--help")[1], command


def test_the_shared_options_are_spelled_and_typed_alike_in_every_command():
    """Walk every command: an option that several take has one spelling, one type and one help."""
    import typer.main

    seen: dict[str, tuple] = {}
    group = typer.main.get_command(app)

    def walk(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        for param in getattr(command, "params", []):
            if param.param_type_name != "option" or param.name in ("help",):
                continue
            shape = (tuple(sorted(param.opts)), repr(param.type_descriptor.annotation), param.help)
            for name in ("epochs", "threads", "jobs", "json"):
                if f"--{name}" in param.opts:
                    seen.setdefault(name, {})[" ".join(path)] = shape

    walk(group, [])
    assert {"ablate", "sweep", "lab run"} <= set(seen["jobs"]), seen["jobs"]
    assert {"runs list", "runs show", "runs compare", "lab show", "presets show", "train"} <= set(seen["json"])
    for name in ("epochs", "threads", "jobs", "json"):  # one spelling and one type
        assert len({(opts, kind) for opts, kind, _ in seen[name].values()}) == 1, (name, seen[name])
    for name in ("epochs", "jobs"):  # and one meaning
        assert len({text for _, _, text in seen[name].values()}) == 1, (name, seen[name])


def test_the_app_opens_on_the_settings_given_and_refuses_a_bad_one_before_it_opens():
    from tui_trainer.tui import TrainerApp

    app_ = TrainerApp("digits-cnn", threads=1, overrides=["train.lr=0.02", ("train.epochs", 3, "--epochs 3")])
    assert (app_.config.train.lr, app_.config.train.epochs) == (0.02, 3)  # what the panel is built from
    code, out = invoke("tui", "digits-cnn", "--set", "train.lrr=0.1")
    assert code == 2 and out.startswith("error: --set train.lrr=0.1: train.lrr: unknown key") and "did you mean" in out


def test_a_mistaken_setting_names_the_option_that_made_it():
    code, out = invoke("train", "digits-cnn", "--set", "nosuch.key=1")
    assert code == 2
    assert out.startswith("error: --set nosuch.key=1: nosuch: unknown key")
    code, out = invoke("train", "digits-cnn", "--set", "data.path=/nonexistent")  # digits reads no path
    assert code == 2
    assert out.startswith("error: --set data.path=/nonexistent: data.path: digits does not read it")
    code, out = invoke("train", "digits-cnn", "--set", "model.lstm.hidden_size=8")  # a CNN reads no [model.lstm]
    assert code == 2
    assert "the model is 'cnn' (model.kind), which does not read [model.lstm]" in out
    # the same rule for every setting: a classifier reads no regression loss, Adam no Nesterov
    code, out = invoke("train", "digits-cnn", "--set", "train.loss=mae")
    assert code == 2 and out.startswith("error: --set train.loss=mae: train.loss: this run does not read it: only a "
                                        "regression (a series, or your own data with real-valued targets) reads it")
    code, out = invoke("train", "digits-cnn", "--set", "train.nesterov=true")
    assert code == 2 and "train.nesterov: this run does not read it: only SGD reads it" in out


def test_train_resume_takes_latest_as_every_command_that_takes_a_run(tmp_path):
    from tui_trainer.config.presets import load_preset
    from tui_trainer.engine import Control, Trainer
    from tui_trainer.engine.commands import Stop
    from tui_trainer.engine.events import StepStats
    from tui_trainer.runs import RunFolder

    config, _ = load_preset("digits-cnn", [("train.epochs", 2, "test"), ("train.threads", 1, "test")])
    control = Control()

    def stop(event):
        if isinstance(event, StepStats):
            control.submit(Stop("test stop"))

    stopped = Trainer(config, run_folder=RunFolder.create(tmp_path, config.name), sinks=[stop]).run(control)
    assert stopped.status == "stopped"
    code, out = invoke("train", "--resume", "latest", "--runs-dir", tmp_path, "--json")
    assert code == 0, out
    assert '"status":"completed"' in out.replace(" ", "")


def test_data_piped_draws_its_pictures_in_characters_that_read_without_colour():
    from tui_trainer.display import INK

    code, out = invoke("data", "digits-cnn")  # CliRunner's output is not a terminal
    assert code == 0
    assert "▀" not in out
    assert sum(out.count(ch) for ch in INK[1:]) > 100


def test_listing_presets_imports_neither_torch_nor_numpy():
    code = ("import sys; from typer.testing import CliRunner; from tui_trainer.cli.app import app; "
            "result = CliRunner().invoke(app, ['presets', 'list']); assert result.exit_code == 0, result.output; "
            "assert 'digits-cnn' in result.output and 'lstm-co2' in result.output; "
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"  # TOML and the datasets' facts: 0.3 s, where torch took 1.4


def test_train_refuses_a_bad_preset_or_setting_before_torch_is_imported():
    code = ("import sys; from typer.testing import CliRunner; from tui_trainer.cli.app import app; "
            "cases = [['train', 'digits-cn'], ['train', 'digits-cnn', '--set', 'train.lrr=1'], "
            "['train', 'digits-cnn', '--epochs', '0']]; "
            "results = [CliRunner().invoke(app, args) for args in cases]; "
            "assert all(r.exit_code == 2 and r.output.startswith('error: ') for r in results), "
            "[r.output for r in results]; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # told in a fraction of a second, not after torch's import


def test_runs_list_names_every_trick_and_what_the_test_column_holds(tmp_path):
    from tui_trainer.config.tricks import TRICKS
    from tui_trainer.runs.catalog import LEGEND

    assert all(f"{trick.code} {name}" in LEGEND for name, trick in TRICKS.items())
    code, out = invoke("train", "digits-cnn", "--epochs", "1", "--threads", "1", "--runs-dir", tmp_path, "--json")
    assert code == 0, out
    code, out = invoke("runs", "list", "--runs-dir", tmp_path)
    assert code == 0
    assert "test score" in out.splitlines()[0]
    assert " acc " in out.splitlines()[2]


def test_a_mistyped_option_or_value_is_one_line_naming_it():
    code, out = invoke("train", "digits-cnn", "--epochs", "abc")
    assert code == 2
    assert out.startswith("error: Invalid value for '--epochs'")
    assert len(out.strip().splitlines()) == 1
    code, out = invoke("train", "--nosuch")
    assert code == 2
    assert out.startswith("error: No such option: --nosuch")


def test_each_mistake_points_to_what_was_meant(tmp_path):
    code, out = invoke("lab", "show", "overfiting", "--runs-dir", tmp_path)
    assert code == 2 and "did you mean 'overfitting'" in out
    code, out = invoke("train", "digits-cnn", "--device", "gpu")
    assert code == 2 and "did you mean 'cuda'" in out
    from helpers import make_config, synthetic_events, write_run

    write_run(tmp_path / "runs", "20261207-120000-digits-cnn", make_config(), synthetic_events(epochs=2))
    code, out = invoke("runs", "compare", "latest", "--runs-dir", tmp_path / "runs")
    assert code == 2 and "for one, tui-trainer runs show latest" in out
    code, out = invoke("presets", "validate", "nosuch")
    assert code == 2 and out.startswith("error: unknown preset 'nosuch'")


def test_every_help_screen_fits_80_columns_whole():
    """At 80 columns train --help cut option names (--no-early-stoppi…) and the command lists kept
    their docstrings' line breaks: every help screen now fits, nothing cut, text reflowed."""
    import typer.main

    paths = [[]]

    def walk(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    assert len(paths) > 20
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, path
        lines = result.output.splitlines()
        assert not [line for line in lines if "…" in line or len(line) > 80], (path, result.output)
    top = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    assert "and show its splits and shape, then one sample image" in top  # data's help reflowed, not ragged
    train = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "80"}).output
    assert "--no-early-stopping" in train and "--no-label-smoothing" in train


def test_tables_fit_the_terminal_by_wrapping_then_dropping_columns(tmp_path, monkeypatch):
    """presets list was about 190 columns wide, lab list 124, runs list 104: at 80 columns every
    line fits (the descriptions wrap, the least needed columns go), and a pipe keeps rows whole."""
    from helpers import make_config, synthetic_events, write_run

    from tui_trainer.tables import table

    rows = [["a", "word " * 20, "x" * 10], ["b", "short", "y" * 10]]
    fitted = table(["k", "text", "more"], rows, wrap={1}, width=40)
    assert max(map(len, fitted.splitlines())) <= 40 and "word word" in fitted.splitlines()[3]
    dropped = table(["k", "text", "more"], rows, wrap={1}, width=30, drop=(2,), narrowest=20)
    assert "more" not in dropped and max(map(len, dropped.splitlines())) <= 30
    monkeypatch.delenv("COLUMNS", raising=False)
    assert len(table(["k", "text", "more"], rows, wrap={1}).splitlines()) == 4  # a pipe: one line a row
    write_run(tmp_path, "20261207-120000-digits-cnn", make_config(), synthetic_events(epochs=2))
    listings = (["presets", "list"], ["lab", "list", "--runs-dir", tmp_path], ["runs", "list", "--runs-dir", tmp_path])
    for command in listings:
        out = CliRunner().invoke(app, [str(a) for a in command], env={"COLUMNS": "80"}).output
        assert max(map(len, out.splitlines())) <= 80, (command, out)
    assert "digits-optimized-cnn" in CliRunner().invoke(app, ["presets", "list"], env={"COLUMNS": "80"}).output
