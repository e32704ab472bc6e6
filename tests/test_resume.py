"""Resume: a run interrupted at any point and resumed ends with the same final metrics as
the same run uninterrupted (CPU, same thread count). In-process stops at many points, and
real subprocesses stopped by SIGINT, SIGTERM and kill -9."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import make_config

from tui_trainer.engine.checkpoint import CheckpointError, load_checkpoint
from tui_trainer.engine.commands import Stop
from tui_trainer.engine.control import Control
from tui_trainer.engine.events import StepStats
from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder, read_events
from tui_trainer.runs.resume import load_resume

FINAL = ("status", "epochs_run", "steps", "best_epoch", "best_val_loss", "best_val_accuracy", "test_loss",
         "test_accuracy", "weights")


def final(summary):
    return {k: summary[k] for k in FINAL}


def run(config, folder, data, stop_after=None, resume=None):
    control = Control()

    def stopper(event):
        done = event.first_step + len(event.losses) if isinstance(event, StepStats) else 0
        if stop_after is not None and done >= stop_after:
            control.submit(Stop("test stop"))

    trainer = Trainer(config, run_folder=folder, data=data, sinks=[stopper], resume=resume)
    return trainer.run(control)


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # cosine with warm-up, dropout, BatchNorm, clipping, decoupled decay, early stopping
        {"tricks.lr_schedule.kind": "onecycle", "tricks.lr_schedule.warmup_epochs": 0.0, "train.optimizer": "sgd",
         "tricks.weight_decay.mode": "coupled", "tricks.ema.enabled": True},
        {"tricks.lr_schedule.kind": "plateau", "tricks.lr_schedule.patience": 0, "tricks.early_stopping.patience": 2},
    ],
    ids=["cosine", "onecycle-sgd-ema", "plateau-early-stop"],
)
def test_a_run_stopped_anywhere_and_resumed_ends_identical(tmp_path, small_data, overrides):
    config = make_config({"train.epochs": 5, "train.batch_size": 64, "train.stats_every": 1,
                          "tricks.lr_schedule.warmup_epochs": 1.0} | overrides)
    reference = final(run(config, RunFolder.create(tmp_path, "full"), small_data).summary)
    # steps per epoch: 8. Stop in the first step, mid-epoch, on an epoch boundary, late.
    for stop_after in (1, 5, 8, 13, 27):
        folder = RunFolder.create(tmp_path, f"stop{stop_after}")
        first = run(config, folder, small_data, stop_after=stop_after)
        if first.status != "stopped":  # early stopping came first
            assert final(first.summary) == reference
            continue
        config2, last, best = load_resume(folder.path)
        assert config2 == config
        resumed = run(config2, RunFolder(folder.path), small_data, resume=(last, best))
        assert final(resumed.summary) == reference, f"stopped after step {stop_after}"
        # metrics.jsonl reads as one run: every step once, in order
        steps = [s for e in read_events(folder.path) if isinstance(e, StepStats)
                 for s in range(e.first_step, e.first_step + len(e.losses))]
        assert steps == list(range(reference["steps"]))


def test_resume_refuses_what_cannot_be_resumed(tmp_path, small_data):
    config = make_config({"train.epochs": 1})
    done = run(config, RunFolder.create(tmp_path, "done"), small_data)
    with pytest.raises(CheckpointError, match="completed: there is nothing left"):
        load_resume(done.run_dir)
    with pytest.raises(CheckpointError, match="no such run folder"):
        load_resume(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="config.toml"):
        load_resume(empty)


def test_checkpoints_load_with_weights_only(tmp_path, small_data):
    config = make_config({"train.epochs": 1})
    done = run(config, RunFolder.create(tmp_path, "a"), small_data)
    state = load_checkpoint(Path(done.run_dir) / "last.pt")  # tensors and plain data only
    assert set(state) >= {"model", "optimizer", "schedule", "rng", "early_stopping"}

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(evil)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="unreadable or corrupt"):
        load_checkpoint(garbage)


# -- real processes, stopped by signals and kill -9 -----------------------------------

ARGS = ["--epochs", "3", "--threads", "1", "--json", "--set", "train.stats_every=4"]


def start(tmp_path, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "tui_trainer", "train", "cnn-mnist1d", *ARGS, *extra],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def until_step(proc, step):
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "step_stats" and event["first_step"] + len(event["losses"]) >= step:
            return
    raise AssertionError("the run ended before the step")


@pytest.mark.usefixtures("mnist1d")
def test_processes_interrupted_by_signals_and_kill_9_resume_to_the_same_result(tmp_path):
    full = start(tmp_path, "--runs-dir", tmp_path / "full")  # the reference trains beside the interrupted runs
    # 29 steps an epoch: SIGINT mid-epoch 1, SIGTERM mid-epoch 2, kill -9 mid-epoch 2
    stopped = []
    for sig, at, code in ((signal.SIGINT, 12, 130), (signal.SIGTERM, 40, 143), (signal.SIGKILL, 44, -9)):
        runs = tmp_path / sig.name
        proc = start(tmp_path, "--runs-dir", runs)
        until_step(proc, at)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == code, err
        assert "Traceback" not in err
        [run_dir] = runs.iterdir()
        if sig != signal.SIGKILL:
            assert json.loads((run_dir / "summary.json").read_text())["status"] == "stopped"
        else:
            assert not (run_dir / "summary.json").exists() and (run_dir / "last.pt").exists()
        stopped.append((sig, run_dir))
    full.communicate(timeout=300)
    assert full.returncode == 0
    [ref_dir] = (tmp_path / "full").iterdir()
    reference = final(json.loads((ref_dir / "summary.json").read_text()))
    resumes = [(sig, run_dir, subprocess.Popen(
        [sys.executable, "-m", "tui_trainer", "train", "--resume", run_dir, "--threads", "1", "--json"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)) for sig, run_dir in stopped]
    for sig, run_dir, resumed in resumes:  # the three at once: each is its own process and folder
        _, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err
        assert final(json.loads((run_dir / "summary.json").read_text())) == reference, sig.name


@pytest.mark.usefixtures("mnist1d")
def test_resume_refuses_a_checkpoint_with_pickled_objects(tmp_path, small_data):
    config = make_config({"train.epochs": 2})
    stopped = run(config, RunFolder.create(tmp_path / "runs", "evil"), small_data, stop_after=3)
    run_dir = Path(stopped.run_dir)
    state = torch.load(run_dir / "last.pt", weights_only=True)
    state["hook"] = subprocess.Popen  # any non-allow-listed object
    torch.save(state, run_dir / "last.pt")
    before = (run_dir / "metrics.jsonl").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "tui_trainer", "train", "--resume", run_dir],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "refused" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (run_dir / "metrics.jsonl").read_bytes() == before  # nothing touched


@pytest.mark.usefixtures("mnist1d")
def test_resume_with_other_settings_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tui_trainer", "train", "--resume", tmp_path / "nope", "--lr", "0.1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "drop --lr 0.1" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tui_trainer", "train", "--resume", tmp_path / "nope"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "no such run folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("budget", [0.0, 0.01], ids=["resident", "streamed"])
def test_augmented_images_resume_identically_resident_or_streamed(tmp_path, budget):
    """The epoch's crops and flips are drawn at its start, so a stop mid-epoch replays them."""
    from tui_trainer.data import load_data

    config = make_config({"data.dataset": "digits", "data.memory_budget_mb": budget, "train.epochs": 3,
                          "train.batch_size": 128, "train.stats_every": 1, "model.cnn.channels": [8],
                          "model.cnn.kernel_size": 3, "model.cnn.fc_hidden": 16, "tricks.augment.enabled": True,
                          "tricks.augment.crop_padding": 2, "tricks.label_smoothing.enabled": True})
    data = load_data(config.data)
    reference = final(run(config, RunFolder.create(tmp_path, "full"), data).summary)
    for stop_after in (4, 14):  # 11 steps an epoch: mid-epoch in the first and the second
        folder = RunFolder.create(tmp_path, f"stop{stop_after}")
        assert run(config, folder, data, stop_after=stop_after).status == "stopped"
        config2, last, best = load_resume(folder.path)
        assert final(run(config2, RunFolder(folder.path), data, resume=(last, best)).summary) == reference


@pytest.mark.parametrize("model", [
    {"model.kind": "lstm", "model.lstm.hidden_size": 16, "model.lstm.num_layers": 2, "model.lstm.embedding_dim": 8},
    {"model.kind": "transformer", "model.transformer.d_model": 16, "model.transformer.num_layers": 2,
     "model.transformer.num_heads": 2, "tricks.batchnorm.enabled": False, "tricks.lr_schedule.kind": "noam",
     "tricks.lr_schedule.warmup_steps": 3},
], ids=["lstm", "transformer"])
def test_a_language_model_resumes_identically(tmp_path, model):
    from tui_trainer.data import load_data

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a quick brown fox jumps over the lazy dog. " * 60, encoding="utf-8")
    config = make_config({"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, **model,
                          "train.epochs": 3, "train.batch_size": 32, "train.stats_every": 1, "sample.length": 20})
    data = load_data(config.data)
    reference = final(run(config, RunFolder.create(tmp_path, "full"), data).summary)
    folder = RunFolder.create(tmp_path, "stopped")
    assert run(config, folder, data, stop_after=5).status == "stopped"  # 4 steps an epoch: mid-epoch in the second
    config2, last, best = load_resume(folder.path)
    assert final(run(config2, RunFolder(folder.path), data, resume=(last, best)).summary) == reference


def test_a_forecaster_resumes_identically(tmp_path):
    from tui_trainer.data import load_data

    config = make_config({"data.dataset": "series", "data.window": 12, "data.horizon": 3,
                          "data.transform": "difference", "data.val_periods": 60, "data.test_periods": 120,
                          "model.kind": "lstm", "model.lstm.hidden_size": 8, "model.lstm.num_layers": 1,
                          "tricks.batchnorm.enabled": False, "tricks.early_stopping.monitor": "val_mae",
                          "train.epochs": 3, "train.batch_size": 64, "train.stats_every": 1})
    data = load_data(config.data)
    reference = run(config, RunFolder.create(tmp_path, "full"), data).summary
    folder = RunFolder.create(tmp_path, "stopped")
    assert run(config, folder, data, stop_after=7).status == "stopped"  # 5 steps an epoch: mid-epoch in the second
    config2, last, best = load_resume(folder.path)
    resumed = run(config2, RunFolder(folder.path), data, resume=(last, best)).summary
    assert final(resumed) == final(reference)
    assert resumed["test_metrics"] == reference["test_metrics"] and resumed["forecast"] == reference["forecast"]
