"""The `tui-trainer` command, run as a user runs it: a real subprocess."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tui_trainer.config import load_config

pytestmark = pytest.mark.usefixtures("mnist1d")  # the dataset cache exists before any subprocess


def cli(*args, cwd, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tui_trainer", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def cli_at_once(*commands, cwd):
    """Several ``cli`` commands in processes started together, each awaited (independent mistakes, each checked)."""
    procs = [subprocess.Popen([sys.executable, "-m", "tui_trainer", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args in commands]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    return [subprocess.CompletedProcess(args, proc.returncode, *out)
            for args, proc, out in zip(commands, procs, outputs)]


def _assert_user_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error:")
    for fragment in fragments:
        assert fragment in proc.stderr


def test_train_each_preset_end_to_end(tmp_path):
    presets = ["cnn-mnist1d", "lstm-mnist1d"]  # trained at once, each in its own folder
    done = cli_at_once(*[("train", preset, "--epochs", "1", "--threads", "1", "--runs-dir", tmp_path / preset)
                         for preset in presets], cwd=tmp_path)
    for preset, proc in zip(presets, done):
        assert proc.returncode == 0, (preset, proc.stderr)
        events = [json.loads(line) for line in proc.stdout.splitlines()]  # not a terminal: JSON lines
        assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_ended"
        assert {"step_stats", "epoch_ended", "early_stopping", "checkpoint_saved"} <= {e["event"] for e in events}
        [run] = list((tmp_path / preset).iterdir())
        assert run.name.endswith(preset)
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["epochs_run"] == 1
        assert 0.0 < summary["test_accuracy"] <= 1.0
        assert events[-1]["summary"] == summary
        assert load_config(run / "config.toml").train.epochs == 1


def test_switches_and_set_reach_the_resolved_config(tmp_path):
    proc = cli(
        "train", "cnn-mnist1d", "--epochs", "1", "--no-batchnorm", "--no-dropout", "--seed", "3", "--lr", "0.002",
        "--set", "tricks.lr_schedule.kind=step", "--set", "model.cnn.channels=[8, 8]", "--threads", "1", "--json",
        "--runs-dir", tmp_path / "runs", cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    [run] = list((tmp_path / "runs").iterdir())
    config = load_config(run / "config.toml")
    assert not config.tricks.batchnorm.enabled and not config.tricks.dropout.enabled
    assert config.train.seed == 3 and config.train.lr == 0.002
    assert config.tricks.lr_schedule.kind == "step" and config.model.cnn.channels == (8, 8)


def test_progress_mode_ends_with_a_summary(tmp_path):
    proc = cli("train", "cnn-mnist1d", "--epochs", "1", "--threads", "1", "--set", "model.cnn.channels=[8]",
               "--no-json", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for fragment in ("epoch   1/1", "completed", "best epoch", "best val loss", "test accuracy", "samples/s",
                     "run folder"):
        assert fragment in proc.stdout, fragment


def test_user_mistakes_give_one_message_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[tricks.dropout]\np = "high"\n')
    preset, missing, key, epochs, value = cli_at_once(
        ("train", "cnn-mnist"), ("train", "missing.toml"), ("train", "--set", "train.lrr=1"),
        ("train", "--epochs", "0"), ("train", bad), cwd=tmp_path)
    _assert_user_error(preset, "unknown preset 'cnn-mnist'", "did you mean 'cnn-mnist1d'")
    _assert_user_error(missing, "missing.toml: no such file")
    _assert_user_error(key, "--set train.lrr=1: train.lrr: unknown key", "did you mean 'lr'")
    _assert_user_error(epochs, "--epochs 0: train.epochs: must be at least 1")
    _assert_user_error(value, f"{bad}: tricks.dropout.p: expected a number")
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU can run mixed precision")
def test_mixed_precision_on_this_cpu_is_refused_before_anything_is_created(tmp_path):
    from tui_trainer.engine.precision import cpu_has_native_bf16

    if cpu_has_native_bf16():
        pytest.skip("this CPU has native bf16")
    proc = cli("train", "lstm-mnist1d", "--mixed-precision", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    _assert_user_error(proc, "no native bf16", "--no-mixed-precision")
    assert not (tmp_path / "runs").exists()


def test_unwritable_runs_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = cli("train", "--epochs", "1", "--runs-dir", blocker / "runs", cwd=tmp_path)
    _assert_user_error(proc, "cannot create a run folder")


def test_presets_commands_work_outside_the_repository(tmp_path):
    listed = cli("presets", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "cnn-mnist1d" in listed.stdout and "lstm-mnist1d" in listed.stdout
    shown = cli("presets", "show", "lstm-mnist1d", cwd=tmp_path)
    assert shown.returncode == 0 and 'kind = "lstm"' in shown.stdout
    (tmp_path / "mine.toml").write_text(shown.stdout)
    assert cli("presets", "validate", "mine.toml", cwd=tmp_path).returncode == 0
    (tmp_path / "bad.toml").write_text("[train]\nepochz = 3\n")
    bad = cli("presets", "validate", "mine.toml", "bad.toml", cwd=tmp_path)
    assert bad.returncode == 2 and "bad.toml: train.epochz: unknown key; did you mean 'epochs'?" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_help_does_not_import_torch(tmp_path):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui_trainer", "--help"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "train" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "torch" not in imported and "typer" in imported


def test_sigint_stops_after_the_current_step_and_saves(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_trainer", "train", "--epochs", "500", "--threads", "1", "--json", "--runs-dir",
         tmp_path / "runs"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stdout:
        if json.loads(line)["event"] == "epoch_ended":
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    [run] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and "SIGINT" in summary["reason"]
    assert (run / "last.pt").exists()


def test_version(tmp_path):
    from tui_trainer import __version__

    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"tui-trainer {__version__}"


def test_the_shell_completes_preset_names_and_run_ids(tmp_path):
    runs = tmp_path / "runs"
    for name in ("20260101-120000-alpha", "20260102-090000-beta"):
        (runs / name).mkdir(parents=True)
        (runs / name / "config.toml").write_text('name = "x"\n')

    def complete(*words):
        env = {"_TUI_TRAINER_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(["tui-trainer", *words]),
               "COMP_CWORD": str(len(words))}
        proc = subprocess.run([sys.executable, "-m", "tui_trainer"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, env={**os.environ, **env})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("train", "lstm-m") == ["lstm-mnist1d"]
    assert complete("train", "lstm") == ["lstm-co2", "lstm-mnist1d", "lstm-text"]
    assert set(complete("presets", "show", "")) >= {"cnn-mnist1d", "lstm-mnist1d"}
    assert complete("runs", "show", "20260102") == ["20260102-090000-beta"]
    assert complete("runs", "show", "--runs-dir", str(runs),
                    "2026") == ["20260101-120000-alpha", "20260102-090000-beta"]
    assert complete("watch", "la") == ["latest"]
    assert "train" in complete("tr")
