"""Faults: non-finite steps (stop or skip), fp16 GradScaler skips, checkpoints that stay
finite, and a disk that fills up mid-run."""

import errno
import os
from pathlib import Path

import pytest
import torch
from helpers import make_config

from tui_trainer.data import Datasets, Split
from tui_trainer.engine.checkpoint import load_checkpoint
from tui_trainer.engine.events import EpochEnded, StepsSkipped
from tui_trainer.engine.nonfinite import finite_state
from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder, RunFolderError, read_summary


def poisoned(data, rows=(3, 300)):
    """The data with a few training samples set to NaN: every batch holding one has a NaN loss."""
    x = data.train.x.clone()
    for r in rows:
        x[r] = float("nan")
    return Datasets(data.spec, Split(x, data.train.y), data.val, data.test)


def test_skip_policy_skips_and_counts_non_finite_steps(small_data, tmp_path):
    config = make_config({"train.epochs": 3, "train.on_nonfinite": "skip", "tricks.early_stopping.enabled": False})
    result = Trainer(config, data=poisoned(small_data), run_folder=RunFolder.create(tmp_path, "skip"),
                     keep_events=True).run()
    assert result.status == "completed"
    skipped = [s for e in result.events if isinstance(e, StepsSkipped) for s in e.steps]
    assert 3 <= len(skipped) <= 6  # two poisoned samples, in at most two batches an epoch
    assert result.summary["skipped_steps"]["nonfinite"] == len(skipped)
    assert finite_state(result.model) and result.summary["test_loss"] is not None
    epochs = [e for e in result.events if isinstance(e, EpochEnded)]
    assert all(torch.isfinite(torch.tensor(e.train_loss)) for e in epochs)  # skipped steps leave the epoch mean


def test_stop_policy_and_the_skip_limit_end_as_diverged(small_data):
    stop = Trainer(make_config({"train.epochs": 3}), data=poisoned(small_data)).run()
    assert stop.status == "diverged" and "lower train.lr" in stop.summary["reason"]
    limited = make_config({"train.epochs": 3, "train.on_nonfinite": "skip", "train.max_skipped_steps": 1})
    result = Trainer(limited, data=poisoned(small_data)).run()
    assert result.status == "diverged" and "train.max_skipped_steps = 1" in result.summary["reason"]


def test_checkpoints_never_hold_non_finite_weights(small_data, tmp_path):
    from tui_trainer.engine.events import CheckpointSaved

    config = make_config({"train.epochs": 4, "tricks.early_stopping.monitor": "val_accuracy"})

    def poison(when):
        def sink(event):
            if when(event):
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))
        return sink

    # weights poisoned after epoch 1's checkpoints: both stay those of epoch 1
    trainer = Trainer(config, data=small_data, run_folder=RunFolder.create(tmp_path, "late"),
                      sinks=[poison(lambda e: isinstance(e, CheckpointSaved) and e.kind == "last" and e.epoch == 1)])
    result = trainer.run()
    assert result.status == "diverged"
    for name in ("best.pt", "last.pt"):
        state = load_checkpoint(Path(result.run_dir) / name)
        assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point()), name
        assert state["epoch"] == 1, name
    # poisoned before epoch 1 is judged: its accuracy "improves" on nothing, but no best.pt is written
    trainer = Trainer(config, data=small_data, run_folder=RunFolder.create(tmp_path, "early"),
                      sinks=[poison(lambda e: isinstance(e, EpochEnded) and e.epoch == 1)])
    result = trainer.run()
    assert not (Path(result.run_dir) / "best.pt").exists()


def test_grad_scaler_skips_are_events_not_divergence(small_data):
    config = make_config({"train.epochs": 2, "train.stats_every": 4, "tricks.batchnorm.enabled": False})
    trainer = Trainer(config, data=poisoned(small_data), keep_events=True)
    trainer.prepare()
    # fp16 needs a GPU; a GradScaler on the CPU takes the same path: the poisoned batches
    # give inf/NaN gradients, which the scaler skips (lowering its scale) as fp16 overflows
    trainer.parts.scaler = torch.amp.GradScaler("cpu")
    result = trainer.run()
    assert result.status == "completed"
    skips = [e for e in result.events if isinstance(e, StepsSkipped)]
    assert skips and all(e.cause == "grad_scaler" for e in skips)
    assert result.summary["skipped_steps"]["grad_scaler"] == sum(len(e.steps) for e in skips) >= 1
    assert "GradScaler skipped" in skips[0].describe()


def test_a_full_disk_mid_run_is_one_clear_error_and_keeps_what_was_saved(small_data, tmp_path, monkeypatch):
    config = make_config({"train.epochs": 4, "tricks.early_stopping.enabled": False})
    real_fsync = os.fsync
    saved = []

    def sink(event):
        if isinstance(event, EpochEnded):
            saved.append(event.epoch)

    def fsync(fd):
        if len(saved) >= 2:  # the disk fills up during the second epoch's checkpoints
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    folder = RunFolder.create(tmp_path, "full")
    with pytest.raises(RunFolderError, match="No space left on device"):
        Trainer(config, data=small_data, run_folder=folder, sinks=[sink]).run()
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert load_checkpoint(folder.path / "last.pt")["epoch"] == 1  # the last good checkpoint, whole
    assert not [p for p in folder.path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(FileNotFoundError):
        read_summary(folder.path)


def test_skip_policy_with_a_grad_scaler_closes_each_skipped_step(small_data):
    # skip and fp16 together: a skipped step has been unscaled, so the scaler must be told
    # the step is over (it lowers its scale), or the next unscale_ refuses to run
    config = make_config({"train.epochs": 2, "train.on_nonfinite": "skip", "tricks.early_stopping.enabled": False})
    trainer = Trainer(config, data=poisoned(small_data), keep_events=True)
    trainer.prepare()
    trainer.parts.scaler = torch.amp.GradScaler("cpu")
    result = trainer.run()
    assert result.status == "completed"
    causes = {e.cause for e in result.events if isinstance(e, StepsSkipped)}
    assert causes == {"nonfinite"}  # counted once, as the policy's skips, not again as the scaler's
    assert result.summary["skipped_steps"]["nonfinite"] >= 2 and result.summary["skipped_steps"]["grad_scaler"] == 0


def test_a_crashed_runs_time_and_speed_read_as_not_measured(small_data, tmp_path):
    from tui_trainer.cli.reporter import ProgressReporter
    from tui_trainer.engine.events import RunEnded, dispatch
    from tui_trainer.runs.catalog import load_run, show_text

    told = []

    def crash(event):
        told.append(event)
        if isinstance(event, EpochEnded):
            raise RuntimeError("a bug in a sink")

    folder = RunFolder.create(tmp_path, "crashed")
    with pytest.raises(RuntimeError, match="a bug in a sink"):
        Trainer(make_config({"train.epochs": 2}), data=small_data, run_folder=folder, sinks=[crash]).run()
    summary = read_summary(folder.path)
    assert summary["status"] == "failed" and summary["wall_seconds"] is None  # null in --json, not 0
    assert summary["train_samples_per_second"] is None
    shown = {line.split()[0]: line.split(None, 1)[1] for line in show_text(load_run(folder.path)).splitlines()
             if line.startswith(("time ", "speed "))}
    assert shown == {"time": "not measured", "speed": "not measured"}
    reporter = ProgressReporter()
    with reporter.console.capture() as captured:
        for event in told:
            dispatch(reporter, event)
    said = captured.get()
    assert isinstance(told[-1], RunEnded) and told[-1].summary["wall_seconds"] is None
    assert "time             not measured   speed not measured" in said and "on None" not in said


def test_a_closed_stdout_does_not_cost_the_run_its_training(tmp_path):
    """`train ... | head -1`: the reader goes after one line; the run trains to its end, its
    folder complete, exit 0 and nothing on stderr; with and without --json (the two at once)."""
    import json
    import subprocess
    import sys

    procs = {}
    for as_json in (False, True):
        runs = tmp_path / ("json" if as_json else "text")
        command = [sys.executable, "-m", "tui_trainer", "train", "digits-optimized-cnn", "--epochs", "12",
                   "--no-early-stopping", "--threads", "1", "--runs-dir", str(runs), *(["--json"] if as_json else [])]
        procs[runs] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for runs, proc in procs.items():
        assert proc.stdout.readline()  # one line, then the reader is gone
        proc.stdout.close()
    for runs, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and b"Error" not in err, (runs.name, err.decode())
        summary = json.loads(next(runs.glob("*/summary.json")).read_text())
        assert summary["status"] == "completed" and summary["epochs_run"] == 12, runs.name
        assert next(runs.glob("*/best.pt")).exists() and next(runs.glob("*/last.pt")).exists()


def test_a_runs_files_follow_the_umask(tmp_path):
    """Every file of a run folder (and a plot) has the modes any new file gets under the umask:
    with 022 a colleague can read a shared run's summary, not only its metrics. Both umasks at once."""
    import stat
    import subprocess
    import sys

    def start(mask, *args):
        return subprocess.Popen([sys.executable, "-m", "tui_trainer", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=lambda: os.umask(mask))

    def each(step):
        procs = {mask: step(mask, tmp_path / oct(mask)) for mask in (0o022, 0o077)}
        for mask, proc in procs.items():
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, (oct(mask), err.decode()[-800:])

    each(lambda mask, runs: start(mask, "train", "digits-optimized-cnn", "--epochs", "2", "--threads", "1",
                                  "--runs-dir", str(runs), "--json"))
    each(lambda mask, runs: start(mask, "runs", "plot", str(next(runs.iterdir())), "-o",
                                  str(next(runs.iterdir()) / "curves.png")))
    for mask in (0o022, 0o077):
        folder = next((tmp_path / oct(mask)).iterdir())
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}
        assert {"summary.json", "config.toml", "best.pt", "last.pt", "metrics.jsonl", "curves.png"} <= set(modes)
        assert modes == dict.fromkeys(modes, 0o666 & ~mask), (oct(mask), {k: oct(v) for k, v in modes.items()})


def test_the_weights_a_test_score_is_of_are_named_even_before_an_epoch_ended():
    """Stopping with x in the first epoch printed 'last weights, best epoch None'."""
    from tui_trainer.display import kept_weights

    assert kept_weights({"weights": "last", "best_epoch": None}) == "last weights, stopped before an epoch ended"
    assert kept_weights({"weights": "best", "best_epoch": 6}) == "best weights, epoch 6"
    assert kept_weights({"weights": "last", "best_epoch": 6}) == "last weights, best epoch 6"
