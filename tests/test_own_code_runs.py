"""Everything the tool does with a run, on a model and data of the user's own (examples/moons): kill -9
and resume to the same result, two processes training as one, a sweep, an ablation of the tricks
the factory takes, the LR range test, TensorBoard and the doctor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO
from typer.testing import CliRunner

from tui_trainer.cli.app import app

PRESET = REPO / "examples" / "moons" / "moons-mlp.toml"  # 1,440 training samples: 23 steps of 64 an epoch
ARGS = ["--threads", "1", "--json", "--set", "train.stats_every=4", "--set", "data.python.args.n=2000"]


def trusted_env() -> dict[str, str]:
    return {**os.environ, "TUI_TRAINER_TRUST": "1"}


def train(*args, runs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tui_trainer", "train", str(PRESET), *ARGS, *map(str, args),
                             "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=trusted_env())


def only_run(runs: Path) -> Path:
    [run] = [p for p in runs.iterdir() if p.is_dir()]
    return run


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def grad_norms(run: Path) -> list[float]:
    return [n for line in (run / "metrics.jsonl").read_text().splitlines()
            for e in [json.loads(line)] if e["event"] == "step_stats" for n in e["grad_norms"]]


def test_a_user_model_killed_and_resumed_ends_as_an_uninterrupted_run(tmp_path):
    full = train("--epochs", "3", "--no-early-stopping", runs=tmp_path / "full")
    killed = train("--epochs", "3", "--no-early-stopping", runs=tmp_path / "killed")
    for line in killed.stdout:  # mid-epoch 2: kill -9, no goodbye
        event = json.loads(line)
        if event["event"] == "step_stats" and event["first_step"] + len(event["losses"]) >= 30:
            killed.send_signal(signal.SIGKILL)
            break
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    run = only_run(tmp_path / "killed")
    assert not (run / "summary.json").exists() and (run / "last.pt").exists()
    _, err = full.communicate(timeout=300)
    assert full.returncode == 0, err
    resumed = subprocess.run([sys.executable, "-m", "tui_trainer", "train", "--resume", str(run), "--threads", "1",
                              "--json"], capture_output=True, text=True, env=trusted_env(), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    keys = ("status", "epochs_run", "steps", "best_epoch", "best_val_loss", "test_loss", "test_accuracy", "code")
    reference = summary(only_run(tmp_path / "full"))
    assert {k: summary(run)[k] for k in keys} == {k: reference[k] for k in keys}


def test_a_user_model_on_two_processes_trains_as_one_process_does(tmp_path):
    two = train("--epochs", "2", "--nproc", "2", runs=tmp_path / "two")
    one = train("--epochs", "2", runs=tmp_path / "one")
    for proc in (two, one):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    a, b = only_run(tmp_path / "two"), only_run(tmp_path / "one")
    assert summary(a)["processes"] == 2 and summary(a)["code"] == summary(b)["code"]
    # the global batch's gradient: two half-batch gradients averaged agree with one batch's to the last bits of
    # float32 (exactly on the first steps here, 2e-5 by the fourth; Adam at 0.01 then amplifies the difference),
    # where a sharding or averaging bug is off from the first step by far more
    norms = list(zip(grad_norms(a), grad_norms(b)))
    assert norms[0][0] == pytest.approx(norms[0][1], rel=1e-6)
    for x, y in norms[:4]:
        assert x == pytest.approx(y, rel=1e-4)
    assert summary(a)["test_accuracy"] == pytest.approx(summary(b)["test_accuracy"], abs=0.03)


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "TUI_TRAINER_TRUST": "1"})
    return result.exit_code, result.output


def test_a_sweep_an_ablation_lr_find_tensorboard_and_the_doctor_on_a_user_model(tmp_path):
    common = ["--threads", "1", "--set", "data.python.args.n=600"]
    code, out = invoke("sweep", PRESET, "--grid", "train.lr=0.003,0.03", "--seeds", "1", "--epochs", "2", *common,
                       "--runs-dir", tmp_path / "sweep")
    assert code == 0 and "train.lr=0.03" in out and "train.lr=0.003" in out, out
    code, out = invoke("ablate", PRESET, "--tricks", "batchnorm,dropout,ema", "--seeds", "1", "--epochs", "2",
                       *common, "--runs-dir", tmp_path / "ablate")
    assert code == 0 and "+batchnorm" in out and "+dropout" in out and "+ema" in out, out
    code, out = invoke("lr-find", PRESET, "--steps", "30", *common, "--json")
    assert code == 0, out
    assert json.loads(out)["suggestions"]["valley"] > 0
    code, out = invoke("train", PRESET, "--epochs", "2", *common, "--json", "--runs-dir", tmp_path / "runs",
                       "--tensorboard", tmp_path / "tb")
    assert code == 0, out
    run = only_run(tmp_path / "runs")
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb" / run.name).iterdir())
    code, out = invoke("runs", "diagnose", run, "--json")
    assert code == 0 and "findings" in json.loads(out), out
    # a sick run of the user's model (SGD at lr 2, unclipped: its ReLUs die), treated on its own settings
    code, out = invoke("train", PRESET, "--epochs", "3", *common, "--json", "--runs-dir", tmp_path / "sick",
                       "--lr", "2", "--set", "train.optimizer=sgd", "--no-grad-clip")
    assert code == 0, out
    sick = only_run(tmp_path / "sick")
    code, out = invoke("runs", "diagnose", sick, "--json")
    first = json.loads(out)["findings"][0]
    assert first["prescription"] is not None, first
    code, out = invoke("runs", "treat", sick, "--seeds", "2", "--epochs", "2", "--threads", "1",
                       "--runs-dir", tmp_path / "sick")
    assert code == 0 and f"treatment of {sick.name}" in out, out
