"""Sweeps without Ray (issue 11, first part): a grid over any settings across seeds, ordinary
run folders, sweep.json after every trial, the table best first, and a second run of the same
sweep that skips what is complete and resumes what was stopped, to the same results."""

from __future__ import annotations

import json

import pytest
from helpers import make_config

from tui_trainer.experiments import sweep as sweeps
from tui_trainer.errors import UserError

BASE = {"data.dataset": "series", "data.window": 12, "data.horizon": 3, "data.transform": "difference",
        "data.val_periods": 60, "data.test_periods": 120, "model.kind": "lstm", "model.lstm.hidden_size": 8,
        "model.lstm.num_layers": 1, "tricks.batchnorm.enabled": False, "train.epochs": 3, "train.batch_size": 64,
        "train.threads": 1, "train.stats_every": 1, "name": "co2"}


def test_the_grid_is_parsed_and_checked():
    assert sweeps.parse_grid(["train.lr=0.001,0.01", "model.cnn.channels=[16, 32],[8]"]) == {
        "train.lr": [0.001, 0.01], "model.cnn.channels": [[16, 32], [8]]}
    for bad, match in ((["train.lr"], "expected KEY=V1,V2"), (["train.lr=1", "train.lr=2"], "given twice")):
        with pytest.raises(UserError, match=match):
            sweeps.parse_grid(bad)
    with pytest.raises(UserError, match="train.lrr: unknown key; did you mean 'lr'"):
        sweeps.plan(make_config(BASE), {"train.lrr": [0.1]}, 1)
    plan = sweeps.plan(make_config(BASE), {"train.lr": [0.001, 0.01], "tricks.dropout.p": [0.1, 0.3]}, 2)
    assert len(plan.trials) == 8 and {t.seed for t in plan.trials} == {0, 1}
    assert plan.trials[0].config.train.lr == 0.001 and plan.trials[-1].config.tricks.dropout.p == 0.3


def test_a_sweep_runs_resumes_a_stopped_trial_and_skips_what_is_complete(tmp_path):
    from tui_trainer.engine import Control
    from tui_trainer.engine.commands import Stop
    from tui_trainer.engine.events import RunStarted, StepStats
    from tui_trainer.experiments.trials import InProcessTrials
    from tui_trainer.runs.catalog import scan_runs

    base = make_config(BASE)
    grid = {"train.lr": [0.001, 0.01]}
    reference = sweeps.run(sweeps.plan(base, grid, 2), base, tmp_path / "reference", InProcessTrials())

    parent, started = Control(), []

    def stop_the_second_trial(event):
        started.extend([event] if isinstance(event, RunStarted) else [])
        if isinstance(event, StepStats) and len(started) == 2 and event.first_step + len(event.losses) >= 7:
            parent.submit(Stop("test stop"))  # mid-epoch, in its second epoch: the trial's own control with it

    runs = tmp_path / "runs"
    first = sweeps.run(sweeps.plan(base, grid, 2), base, runs, InProcessTrials(parent, (stop_the_second_trial,)),
                       should_stop=lambda: parent.stop_requested)
    assert [r["status"] for r in first.results.values()] == ["completed", "stopped"]
    saved = json.loads((first.folder / "sweep.json").read_text())
    assert set(saved["results"]) == {"train.lr=0.001 seed=0", "train.lr=0.001 seed=1"}

    seen = []
    again = sweeps.run(sweeps.plan(base, grid, 2), base, runs, InProcessTrials(),
                       on_result=lambda sweep, trial, summary, how: seen.append((trial.key, how)))
    assert again.folder == first.folder  # the same command finds the same folder
    assert seen == [("train.lr=0.001 seed=0", "skipped"), ("train.lr=0.001 seed=1", "resumed"),
                    ("train.lr=0.01 seed=0", "trained"), ("train.lr=0.01 seed=1", "trained")]
    for key, result in reference.results.items():  # the resumed trial ends exactly where an unbroken one does
        assert again.results[key]["status"] == result["status"]
        assert again.results[key]["test_score"] == result["test_score"]
    assert len(scan_runs(runs)) == 4  # ordinary run folders, which runs list, compare and plot read
    body, metric = sweeps.rows(again)
    means = {p: sum(r["test_score"] for r in again.results.values() if r["point"] == p) / 2
             for p in ("train.lr=0.001", "train.lr=0.01")}
    assert metric == "mae" and [row[0] for row in body] == sorted(means, key=means.get)  # lowest MAE first
    assert all(row[3] == "2/2" for row in body)


def test_the_sweep_command_prints_the_table_and_refuses_a_bad_grid_with_one_line(tmp_path):
    from tests.test_cli import cli

    args = ("sweep", "lstm-co2", "--grid", "train.lr=0.001,0.01", "--seeds", "1", "--epochs", "2", "--threads", "1",
            "--set", "model.lstm.hidden_size=8", "--runs-dir", tmp_path / "runs")
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 grid points x 1 seeds = 2 trials" in proc.stdout
    assert "test mae" in proc.stdout
    assert "runs in " in proc.stdout
    again = cli(*args, cwd=tmp_path)
    assert again.stdout.count("complete already, skipped") == 2
    bad = cli("sweep", "lstm-co2", "--grid", "train.lr=0", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--grid train.lr=0: train.lr: must be greater than 0.0" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_ctrl_c_stops_the_sweep_at_a_step_and_the_same_command_resumes_it(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "tui_trainer", "sweep", "lstm-co2", "--grid", "train.lr=0.003,0.01", "--seeds", "1",
            "--threads", "1", "--set", "train.stats_every=1", "--set", "model.lstm.hidden_size=16", "--set",
            "train.batch_size=8", "--epochs", "20", "--runs-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    deadline = time.monotonic() + 120
    metrics = None
    while time.monotonic() < deadline:  # the first trial has finished an epoch
        found = list((tmp_path / "runs").glob("sweep-*/p000-s0/metrics.jsonl"))
        if found and '"epoch_ended"' in found[0].read_text():
            metrics = found[0]
            break
        time.sleep(0.05)
    assert metrics is not None, "the first trial never finished an epoch"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "stopped: run the same command again to resume" in out
    summary = json.loads((metrics.parent / "summary.json").read_text())
    assert summary["status"] == "stopped" and (metrics.parent / "last.pt").exists()
    again = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert again.returncode == 0, again.stderr
    assert "train.lr=0.003 seed=0: " in again.stdout and "(resumed)" in again.stdout
    results = json.loads(next((tmp_path / "runs").glob("sweep-*/sweep.json")).read_text())["results"]
    assert len(results) == 2 and all(r["status"] in ("completed", "early_stopped") for r in results.values())
