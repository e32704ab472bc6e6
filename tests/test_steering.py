"""Steering a live run: changes at a step boundary, logged as interventions, refused when they make
no sense, replayed by a resume so it stays exact; and `tui-trainer nudge` reaching a headless run."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers import make_config

from tui_trainer.engine import Control
from tui_trainer.engine.commands import Steer
from tui_trainer.engine.events import EpochEnded, Intervention, StepStats

BASE = {"train.epochs": 4, "train.batch_size": 32, "train.stats_every": 1, "tricks.early_stopping.enabled": False}


def at_steps(control: Control, plan: dict[int, dict], crash_at: int | None = None):
    """A sink that asks ``control`` for ``plan[step]`` once ``step`` steps are done (and raises at ``crash_at``)."""

    def sink(event):
        if isinstance(event, StepStats):
            done = event.first_step + len(event.losses)
            if done in plan:
                control.submit(Steer(plan[done], "test"))
            if done == crash_at:
                raise RuntimeError("killed mid-run")

    return sink


def lrs(events) -> list[float]:
    return [lr for e in events if isinstance(e, StepStats) for lr in e.lrs]


def test_an_lr_scale_takes_effect_at_the_next_step_and_is_logged(small_data):
    from tui_trainer.engine.trainer import Trainer

    reference = Trainer(make_config(BASE), data=small_data, keep_events=True).run()
    control = Control()
    steered = Trainer(make_config(BASE), data=small_data, keep_events=True,
                      sinks=[at_steps(control, {20: {"lr_times": 0.5}})]).run(control)
    [event] = [e for e in steered.events if isinstance(e, Intervention)]
    assert (event.step, event.changes, event.source) == (20, {"lr_scale": 0.5}, "test")
    before, after = lrs(reference.events), lrs(steered.events)
    assert after[:20] == before[:20]
    assert after[20:] == pytest.approx([lr * 0.5 for lr in before[20:]], rel=1e-12)  # the schedule runs on, scaled
    # the epoch lines show the LR as the steps use it, as the curve and the status line do
    ends = [(e.epoch, e.lr) for e in reference.events if isinstance(e, EpochEnded)]
    steered_ends = [e.lr for e in steered.events if isinstance(e, EpochEnded)]
    per_epoch = len(before) // len(ends)
    assert len(ends) == len(steered_ends) == 4 and per_epoch < 20 < 4 * per_epoch
    for (epoch, lr), steered_lr in zip(ends, steered_ends):
        assert steered_lr == pytest.approx(lr * (0.5 if epoch * per_epoch > 20 else 1.0), rel=1e-12), epoch


def test_a_request_that_makes_no_sense_is_refused_with_the_reason_and_changes_nothing(small_data):
    from tui_trainer.engine.trainer import Trainer

    config = make_config({**BASE, "train.epochs": 1, "tricks.dropout.enabled": False})
    reference = Trainer(config, data=small_data).run().summary
    control, answers = Control(), []
    for changes in ({"dropout": 0.3}, {"lr_scale": 0}, {"patience": 3}, {"momentum": 0.5}):
        control.submit(Steer(changes, "test"), lambda *a: answers.append(a))
    result = Trainer(config, data=small_data, keep_events=True).run(control)
    assert [a[0] for a in answers] == ["refused"] * 4
    assert "this model has no dropout layers" in answers[0][1] and "must be a number above 0" in answers[1][1]
    assert "early stopping is off" in answers[2][1] and "unknown setting momentum" in answers[3][1]
    assert not any(isinstance(e, Intervention) for e in result.events)
    assert result.summary["test_loss"] == reference["test_loss"]


def test_a_resume_replays_the_interventions_after_its_checkpoint_and_ends_as_the_unbroken_run(small_data, tmp_path):
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.resume import load_resume

    plan = {20: {"lr_times": 0.5}, 40: {"clip": 0.25, "dropout": 0.05}}
    control = Control()
    unbroken = Trainer(make_config(BASE), data=small_data, run_folder=RunFolder.create(tmp_path, "unbroken"),
                       sinks=[at_steps(control, plan)]).run(control)
    control = Control()
    broken = RunFolder.create(tmp_path, "broken")
    with pytest.raises(RuntimeError, match="killed mid-run"):  # after both interventions; its last.pt is from step 32
        Trainer(make_config(BASE), data=small_data, run_folder=broken,
                sinks=[at_steps(control, plan, crash_at=45)]).run(control)
    config, last, best = load_resume(broken.path)
    # the first is in the checkpoint, the second replays
    assert last["global_step"] == 32 and last["optimizer"]["lr_scale"] == 0.5
    older = RunFolder(shutil.copytree(broken.path, tmp_path / "older"))  # as a version before the parts' knobs saved it
    legacy = old_layout(copy.deepcopy(last))  # before the resume below trains on the optimizer's tensors
    resumed = Trainer(config, data=small_data, run_folder=RunFolder(broken.path), resume=(last, best),
                      keep_events=True).run()
    [replayed] = [e for e in resumed.events if isinstance(e, Intervention)]
    assert (replayed.step, replayed.changes, replayed.source) == (40, {"clip": 0.25, "dropout": 0.05}, "replay")
    for key in ("best_val_loss", "test_loss", "test_accuracy", "steps"):
        assert resumed.summary[key] == unbroken.summary[key], key
    from_older = Trainer(config, data=small_data, run_folder=older, resume=(legacy, best)).run()
    for key in ("best_val_loss", "test_loss", "test_accuracy", "steps"):
        assert from_older.summary[key] == unbroken.summary[key], key


def old_layout(last: dict) -> dict:
    """``last.pt`` as versions before the parts kept what was steered wrote it: one ``steering`` entry."""
    optimizer = {k: v for k, v in last["optimizer"].items() if k not in ("lr_scale", "sgd_decay")}
    early = {k: v for k, v in last["early_stopping"].items() if k != "patience"}
    steering = {"lr_scale": last["optimizer"]["lr_scale"], "sgd_decay": last["optimizer"]["sgd_decay"],
                "clip_enabled": last["clip"]["enabled"], "clip_threshold": last["clip"]["threshold"],
                "dropout": last["dropout"]["p"], "patience": last["early_stopping"]["patience"]}
    kept = {k: v for k, v in last.items() if k not in ("clip", "dropout")}
    return {**kept, "optimizer": optimizer, "early_stopping": early, "steering": steering}


@pytest.mark.usefixtures("mnist1d")
def test_nudge_reaches_a_headless_run_through_its_folder(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "tui_trainer", "train", "cnn-mnist1d", "--epochs", "40",
                             "--threads", "1", "--json", "--runs-dir", str(runs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())

    def nudge(*args):
        return subprocess.run([sys.executable, "-m", "tui_trainer", "nudge", "latest", "--runs-dir", str(runs), *args],
                              capture_output=True, text=True, timeout=120, env=os.environ.copy())

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(runs.glob("*/metrics.jsonl")):
            time.sleep(0.05)
        applied = nudge("--lr-scale", "0.5", "--patience", "20")
        assert applied.returncode == 0, applied.stderr
        assert "lr × 0.5, patience 20 from step" in applied.stdout
        refused = nudge("--lr-scale", "0")
        assert refused.returncode == 2 and "--lr-scale 0.0: must be above 0" in refused.stderr
        unknown = nudge("--set", "momentum=0.5")  # any knob by name; the run's parts judge it
        assert unknown.returncode == 2 and "refused: unknown setting momentum" in unknown.stderr
    finally:
        proc.send_signal(2)
        out, _ = proc.communicate(timeout=120)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    [event] = [e for e in events if e["event"] == "intervention"]
    assert event["changes"] == {"lr_scale": 0.5, "patience": 20} and event["source"] == "nudge"
    ended = nudge("--lr-scale", "2")
    assert ended.returncode == 2 and "is not training (it is stopped)" in ended.stderr


def test_epochs_count_their_clipped_steps_and_the_plot_marks_what_happened(small_data, tmp_path):
    pytest.importorskip("matplotlib")
    from tui_trainer.engine.events import EpochEnded
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.catalog import load_run
    from tui_trainer.runs.curves import read_curves
    from tui_trainer.runs.plot import plot_runs

    tight = Trainer(make_config({**BASE, "train.epochs": 2, "tricks.grad_clip.threshold": 1e-6}), data=small_data,
                    keep_events=True).run()
    # every step cut
    assert [(e.clipped_steps, e.steps) for e in tight.events if isinstance(e, EpochEnded)] == [(16, 16), (16, 16)]
    off = Trainer(make_config({**BASE, "train.epochs": 1, "tricks.grad_clip.enabled": False}), data=small_data,
                  keep_events=True).run()
    assert [e.clipped_steps for e in off.events if isinstance(e, EpochEnded)] == [None]  # nothing to tell
    control = Control()
    run = Trainer(make_config({**BASE, "train.epochs": 2}), data=small_data,
                  run_folder=RunFolder.create(tmp_path, "marked"),
                  sinks=[at_steps(control, {10: {"lr_times": 0.5}})]).run(control)
    curves = read_curves(load_run(run.run_dir))
    assert [(e.step, e.changes) for e in curves.interventions] == [(10, {"lr_scale": 0.5})]
    assert plot_runs([load_run(run.run_dir)], tmp_path / "marked.png").stat().st_size > 20_000
