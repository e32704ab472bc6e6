import json
import threading
import time

import pytest
import torch
from helpers import make_config

from tui_trainer.engine import Control
from tui_trainer.engine.commands import Pause, Resume, Stop
from tui_trainer.engine.events import (
    EpochEnded,
    RunEnded,
    RunStarted,
    StepStats,
    event_from_dict,
    event_to_dict,
)
from tui_trainer.engine.setup import steps_per_epoch
from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder, read_events, read_summary


def _metrics(result):
    steps = [s for e in result.events if isinstance(e, StepStats) for s in zip(e.losses, e.grad_norms, e.lrs)]
    epochs = [(e.train_loss, e.val_loss, e.val_accuracy) for e in result.events if isinstance(e, EpochEnded)]
    return steps, epochs, result.summary["test_loss"], result.summary["test_accuracy"]


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_same_preset_and_seed_give_the_same_metrics(small_data, kind):
    config = make_config({"train.epochs": 2, "model.kind": kind, "model.lstm.hidden_size": 16,
                          "model.cnn.channels": [8, 8]})
    a = Trainer(config, data=small_data, keep_events=True).run()
    b = Trainer(config, data=small_data, keep_events=True).run()
    assert _metrics(a) == _metrics(b)
    c = Trainer(make_config({**{"train.epochs": 2, "model.kind": kind, "model.lstm.hidden_size": 16,
                                "model.cnn.channels": [8, 8]}, "train.seed": 1}), data=small_data,
                keep_events=True).run()
    assert _metrics(c) != _metrics(a)


def test_step_statistics_arrive_in_batches(small_data, monkeypatch):
    from tui_trainer.engine import stats

    monkeypatch.setattr(stats, "FLUSH_SECONDS", 1e9)  # only the step count triggers a fetch
    config = make_config({"train.epochs": 2, "train.batch_size": 16, "train.stats_every": 8, "model.cnn.channels": [8]})
    result = Trainer(config, data=small_data, keep_events=True).run()
    batches = [e for e in result.events if isinstance(e, StepStats)]
    assert sum(len(e.losses) for e in batches) == 2 * 32
    assert [len(e.losses) for e in batches] == [8] * 8  # one transfer every 8 steps
    firsts = [e.first_step for e in batches]
    assert firsts == sorted(firsts) and firsts[0] == 0


def test_steps_per_epoch_keeps_the_partial_batch_unless_it_is_a_single_sample():
    assert steps_per_epoch(512, 128) == 4
    assert steps_per_epoch(513, 128) == 4
    assert steps_per_epoch(514, 128) == 5
    assert steps_per_epoch(10, 128) == 1


def test_run_folder_holds_config_metrics_checkpoints_and_summary(small_data, tmp_path):
    config = make_config({"train.epochs": 2, "model.cnn.channels": [8]})
    folder = RunFolder.create(tmp_path / "runs", config.name)
    result = Trainer(config, data=small_data, run_folder=folder).run()
    names = {p.name for p in folder.path.iterdir()}
    assert {"config.toml", "metrics.jsonl", "last.pt", "best.pt", "summary.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    from tui_trainer.config import load_config

    assert load_config(folder.path / "config.toml") == config
    summary = read_summary(folder.path)
    for key in ("status", "epochs_run", "best_epoch", "best_val_loss", "best_val_accuracy", "test_loss",
                "test_accuracy", "wall_seconds", "train_samples_per_second", "device", "precision"):
        assert summary[key] is not None, key
    assert summary == json.loads(json.dumps(result.summary))
    events = list(read_events(folder.path))
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunEnded)
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2]
    last = torch.load(folder.path / "last.pt", weights_only=True)
    assert {"model", "optimizer", "schedule", "early_stopping", "epoch", "rng"} <= set(last)
    # a writer killed mid-line leaves a partial last line: reading skips it
    whole = (folder.path / "metrics.jsonl").read_bytes()
    (folder.path / "metrics.jsonl").write_bytes(whole + b'{"event":"step_stats","epoch":2,"fir')
    assert len(list(read_events(folder.path))) == len(events)


def test_events_round_trip_through_json():
    event = StepStats(0, 0, 2, [1.0, float("nan")], [float("inf"), 2.0], [0.1, 0.1], 10.0)
    back = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
    assert back.losses[0] == 1.0 and back.losses[1] != back.losses[1] and back.grad_norms[0] == float("inf")


def test_stop_from_another_thread_ends_the_run_and_writes_a_checkpoint(small_data, tmp_path):
    config = make_config({"train.epochs": 1000, "train.batch_size": 16, "model.cnn.channels": [8]})
    folder = RunFolder.create(tmp_path, "stop")
    control = Control()
    seen = threading.Event()

    def sink(event):
        if isinstance(event, EpochEnded):
            seen.set()

    trainer = Trainer(config, data=small_data, run_folder=folder, sinks=[sink])
    thread = threading.Thread(target=lambda: trainer.run(control))
    thread.start()
    assert seen.wait(60)
    control.submit(Stop())
    thread.join(120)  # a stop saves last.pt and scores the test split first; how fast is bench/'s business
    assert not thread.is_alive()
    summary = read_summary(folder.path)
    assert summary["status"] == "stopped" and summary["epochs_run"] >= 1
    assert (folder.path / "last.pt").exists()


def test_pause_holds_the_loop_and_resume_continues(small_data):
    config = make_config({"train.epochs": 2, "train.batch_size": 16, "model.cnn.channels": [8], "train.stats_every": 1})
    control = Control()
    steps = []

    def sink(event):
        if isinstance(event, StepStats):
            steps.append(len(event.losses))
            if sum(steps) == 5:
                control.submit(Pause())  # on the training thread: the loop pauses before step 6

    trainer = Trainer(config, data=small_data, sinks=[sink])
    thread = threading.Thread(target=lambda: trainer.run(control))
    thread.start()
    assert control.held.wait(60)  # the loop waits in the pause: it provably began
    assert sum(steps) == 5 and thread.is_alive()
    time.sleep(0.2)
    assert sum(steps) == 5 and control.held.is_set()
    control.submit(Resume())
    thread.join(60)
    assert not thread.is_alive() and not control.held.is_set()
    assert sum(steps) == 2 * 32


def test_divergence_stops_with_a_hint(small_data):
    config = make_config(
        {"train.epochs": 3, "train.optimizer": "sgd", "train.lr": 10.0, "tricks.grad_clip.enabled": False,
         "tricks.batchnorm.enabled": False, "tricks.lr_schedule.enabled": False, "tricks.weight_decay.enabled": False}
    )
    result = Trainer(config, data=small_data).run()
    assert result.status == "diverged"
    assert "lower train.lr" in result.summary["reason"]


def test_the_allocator_is_tuned_once_on_glibc_and_can_be_left_alone(tmp_path):
    import subprocess
    import sys

    code = "from tui_trainer.engine.memory import tune_allocator as t; print(t(), t())"
    tuned = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    left = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "TUI_TRAINER_MALLOC": "default"})
    assert left.stdout.split() == ["False", "False"]
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert tuned.stdout.split() == ["True", "True"]
