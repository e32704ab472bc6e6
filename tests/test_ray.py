"""Sweeps and ablations on Ray: each test starts `tui-trainer` in its own process, which starts a
local Ray instance on this machine's CPUs (2 in CI). Ray is an optional extra; CI installs it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

SWEEP = ["sweep", "lstm-co2", "--grid", "train.lr=0.003,0.01", "--seeds", "2", "--epochs", "3", "--threads", "1",
         "--set", "model.lstm.hidden_size=8"]
LONG = ["sweep", "cnn-mnist1d", "--grid", "train.lr=0.001,0.003", "--seeds", "1", "--epochs", "8", "--threads", "1",
        "--set", "tricks.early_stopping.enabled=false"]


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tui_trainer", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tui_trainer", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def at_once(*commands: list) -> list[subprocess.CompletedProcess]:
    """The commands in processes started together (the Ray one mostly waits for its cluster), each awaited."""
    procs = [(command, start(*command)) for command in commands]
    done = []
    for command, proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return done


def results(runs: Path) -> dict:
    return json.loads(next(runs.glob("sweep-*/sweep.json")).read_text())["results"]


def first_epoch_done(runs: Path, timeout: float = 120) -> Path | None:
    """The first trial folder to finish an epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for metrics in runs.glob("sweep-*/p*/metrics.jsonl"):
            if '"epoch_ended"' in metrics.read_text():
                return metrics.parent
        time.sleep(0.05)
    return None


def test_a_sweep_on_ray_trains_every_trial_as_the_local_sweep_does(tmp_path):
    on_ray, local = at_once([*SWEEP, "--ray", "--runs-dir", tmp_path / "ray"],
                            [*SWEEP, "--runs-dir", tmp_path / "local"])
    assert on_ray.returncode == 0, on_ray.stderr
    assert "Traceback" not in on_ray.stderr and "[4/4]" in on_ray.stdout and "2/2" in on_ray.stdout
    assert local.returncode == 0, local.stderr
    a, b = results(tmp_path / "ray"), results(tmp_path / "local")
    assert sorted(a) == sorted(b) and len(a) == 4
    for key in a:  # the same seeds, one thread each: the same numbers, wherever they trained
        assert a[key]["status"] == "completed" and a[key]["test_score"] == b[key]["test_score"], key
    again = cli(*SWEEP, "--runs-dir", tmp_path / "ray")  # the same sweep, here: nothing left to train
    assert again.returncode == 0 and again.stdout.count("complete already, skipped") == 4
    listed = cli("runs", "list", "--runs-dir", tmp_path / "ray")
    assert sum("lstm-co2.p" in line for line in listed.stdout.splitlines()) == 4  # ordinary run folders


def test_a_worker_killed_mid_trial_is_retried_and_its_trial_resumes_from_last_pt(tmp_path):
    runs = tmp_path / "runs"
    proc = start(*LONG, "--epochs", "20", "--ray", "--runs-dir", runs)  # long enough to be killed well inside a trial
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (len(saved := list(runs.glob("sweep-*/p*/metrics.jsonl"))) == 2
                                               and all(_checkpointed_an_epoch(m) for m in saved)):
        time.sleep(0.2)  # both trials train, each with a last.pt after an epoch: whichever is killed goes on from there
    workers = [int(p.name) for p in Path("/proc").iterdir()
               if p.name.isdigit() and _cmdline(p).startswith("ray::train_task")
               and _descends_from(int(p.name), proc.pid)]
    assert workers, "no Ray worker is training"
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "(resumed)" in out
    done = results(runs)
    assert len(done) == 2 and all(r["status"] == "completed" for r in done.values())
    starts = [json.loads(line)["start_step"] for m in runs.glob("sweep-*/p*/metrics.jsonl")
              for line in m.read_text().splitlines()
              if '"run_started"' in line]
    # one trial went on from its checkpoint, not from the start
    assert len(starts) == 3 and sum(s > 0 for s in starts) == 1


def _checkpointed_an_epoch(metrics: Path) -> bool:
    """Whether the trial's last.pt on disk is from after an epoch (the event is sent when the write is queued)."""
    from tui_trainer.engine.checkpoint import CheckpointError, load_checkpoint

    if re.search(r'"event":"checkpoint_saved","epoch":[1-9][0-9]*,"kind":"last"', metrics.read_text()) is None:
        return False
    try:
        return load_checkpoint(metrics.parent / "last.pt")["epoch"] >= 1
    except CheckpointError:
        return False


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``pid`` is in ``ancestor``'s process tree (the local Ray it started), not another test's."""
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_ctrl_c_stops_every_ray_trial_at_a_step_and_the_same_command_resumes_them(tmp_path):
    runs = tmp_path / "runs"
    proc = start(*LONG, "--ray", "--runs-dir", runs)
    assert first_epoch_done(runs) is not None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    trials = sorted(p for p in next(runs.glob("sweep-*")).iterdir() if p.is_dir())
    assert len(trials) == 2
    for trial in trials:  # each stopped inside an epoch, with a checkpoint there
        summary = json.loads((trial / "summary.json").read_text())
        assert summary["status"] == "stopped" and summary["reason"] == "the sweep was asked to stop", summary
        assert (trial / "last.pt").exists()
    assert not list(runs.glob("sweep-*/STOP"))
    again = cli(*LONG, "--ray", "--runs-dir", runs)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(resumed)") == 2
    assert all(r["status"] == "completed" for r in results(runs).values())


def test_an_ablation_on_ray_gives_the_local_table(tmp_path):
    args = ["ablate", "cnn-mnist1d", "--tricks", "batchnorm", "--seeds", "2", "--epochs", "1", "--threads", "1"]
    on_ray, local = at_once([*args, "--ray", "--max-concurrent", "2", "--runs-dir", tmp_path / "ray"],
                            [*args, "--runs-dir", tmp_path / "local"])
    assert on_ray.returncode == 0 and local.returncode == 0, on_ray.stderr + local.stderr
    table = on_ray.stdout.split("----")[-1]
    assert "baseline" in table and "-batchnorm" in table and "[4/4]" in on_ray.stdout
    [folder] = (tmp_path / "ray").iterdir()
    a = json.loads((folder / "ablation.json").read_text())["results"]
    b = json.loads(next((tmp_path / "local").glob("*/ablation.json")).read_text())["results"]
    for variant in ("baseline", "-batchnorm"):  # the same numbers, trained here one after another or there at once
        for seed in ("0", "1"):
            assert a[variant][seed]["test_score"] == b[variant][seed]["test_score"]
            assert a[variant][seed]["best_val_loss"] == b[variant][seed]["best_val_loss"]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "cnn-mnist1d.baseline.s0", "cnn-mnist1d.baseline.s1",
        "cnn-mnist1d.no-batchnorm.s0", "cnn-mnist1d.no-batchnorm.s1"]


def test_a_bad_ray_address_is_one_line(tmp_path):
    bad = cli(*SWEEP, "--ray", "cnn-mnist1d", "--runs-dir", tmp_path / "runs")
    assert bad.returncode == 2
    assert "--ray cnn-mnist1d: not a Ray address" in bad.stderr
    assert "Traceback" not in bad.stderr
    gone = cli(*SWEEP, "--ray", "127.0.0.1:1", "--runs-dir", tmp_path / "runs", timeout=60)
    assert gone.returncode == 2
    assert "--ray 127.0.0.1:1: nothing answers there" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_asha_prunes_the_trial_that_falls_behind_at_a_rung(tmp_path):
    from tui_trainer.experiments.pruning import AshaPruner

    pruner = AshaPruner(epochs=9, grace=1, reduction=3)
    losses = {"a": 1.0, "b": 0.5, "c": 2.0, "d": 0.2}  # epoch 1's val loss, reached in this order
    for name in losses:
        (tmp_path / name).mkdir()
        pruner.add(tmp_path / name)
    for name, loss in losses.items():
        with (tmp_path / name / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"event": "epoch_ended", "epoch": 1, "val_loss": loss}) + "\n")
            f.write('{"event": "step_stats", "epoch": 1')  # a line still being written is left for the next poll
        pruner.poll()
    # c is below the best third of a, b (cutoff between 1.0 and 0.5); d is the best so far
    assert sorted(p.parent.name for p in tmp_path.glob("*/PRUNE")) == ["c"]
    assert (tmp_path / "c" / "PRUNE").read_text().startswith("pruned by ASHA after epoch 1: "
                                                             "val_loss 2 is not among the best 1/3")


def test_a_sweep_with_asha_ends_the_hopeless_trial_as_pruned_and_leaves_it_on_a_second_run(tmp_path):
    args = ["sweep", "lstm-co2", "--grid", "train.lr=0.03,0.0001", "--seeds", "1", "--epochs", "60", "--threads", "1",
            "--set", "model.lstm.hidden_size=8", "--set", "tricks.early_stopping.enabled=false", "--scheduler", "asha",
            "--runs-dir", tmp_path / "runs"]
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(next((tmp_path / "runs").glob("sweep-*/p001-s0/summary.json")).read_text())
    assert summary["status"] == "pruned" and summary["reason"].startswith("pruned by ASHA after epoch 1: val_loss")
    assert summary["epochs_run"] < 60 and any((tmp_path / "runs").glob("sweep-*/p001-s0/last.pt"))
    row = next(line for line in done.stdout.splitlines() if line.startswith("train.lr=0.0001"))
    assert row.split()[1] == "-" and row.split()[-1] == "1"  # counted as pruned, not scored
    again = cli(*args)
    assert again.returncode == 0 and again.stdout.count("complete already, skipped") == 2
    bad = cli(*args[:-2], "--scheduler", "hyperband", "--runs-dir", tmp_path / "runs")
    assert bad.returncode == 2 and "--scheduler hyperband: choose asha" in bad.stderr
