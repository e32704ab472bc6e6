"""The app's Runs view (r), driven by a Pilot: overlaid curves and their toggles, seed groups,
an ablation, a sweep another process runs, the filter, and resuming a run."""

from pathlib import Path

import pytest
from app_pilot import in_app, start_training, wait_for
from helpers import make_config

from tui_trainer.tui.screens.runs import RunsScreen
from tui_trainer.tui.widgets.settings_panel import SettingsPanel

pytestmark = pytest.mark.usefixtures("mnist1d")


def train_runs(runs_dir, data, runs: dict[str, dict]) -> None:
    """A finished run of a tiny config in ``runs_dir`` per name, with its overrides."""
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder

    for name, overrides in runs.items():
        Trainer(make_config(overrides), data=data, run_folder=RunFolder.create(runs_dir, name)).run()


def test_runs_view_overlays_selected_runs_and_runs_an_ablation(tmp_path, small_data):
    from tui_trainer.tui.widgets.overlay_plot import OverlayPlot

    train_runs(tmp_path / "runs", small_data, {f"lr{lr}": {"train.epochs": 2, "train.lr": lr} for lr in (0.003, 0.01)})

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.torch_info is not None)
        app.query_one(SettingsPanel).set_value("train.epochs", 1)
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        screen = app.screen
        assert len(screen.runs) == 2
        await pilot.press("space", "down", "space")
        plot = screen.query_one(OverlayPlot)
        assert len(plot.runs) == 2
        await pilot.pause()
        drawn = str(plot.render())
        assert "validation loss" in drawn and any(0x2800 < ord(ch) <= 0x28FF for ch in drawn)
        await pilot.press("m")
        assert "training loss" in str(plot.render())
        screen.query_one("#ablate-seeds").value = "1"
        screen.action_ablate()
        status = screen.query_one("#ablation-status")
        # the screen has drawn the finished ablation (its last results arrive just before the end)
        await wait_for(pilot, lambda: not app.busy and "runs in" in str(status.render()), timeout=180)
        plan = screen.ablation
        rows = screen.query_one("#ablation-table").row_count
        assert rows == len(plan.variants) >= 7 and sum(len(v) for v in plan.results.values()) == len(plan.variants)
        assert (plan.folder / "ablation.json").exists()
        await wait_for(pilot, lambda: len(screen.runs) == 2 + len(plan.variants))  # the table lists them after
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen))

    in_app(tmp_path, scenario, (120, 40))


def test_the_runs_view_shows_a_running_sweep_filling_in_and_x_stops_it(tmp_path):
    """A sweep run by `tui-trainer sweep` in another process: its table fills in from sweep.json,
    and x in the Runs view stops every trial at a step, resumable."""
    import json
    import os
    import subprocess
    import sys


    args = [sys.executable, "-m", "tui_trainer", "sweep", "lstm-co2", "--grid", "train.lr=0.01,0.003", "--seeds", "1",
            "--threads", "1", "--set", "model.lstm.hidden_size=8", "--set", "tricks.early_stopping.enabled=false",
            "--runs-dir", str(tmp_path / "runs")]
    first = subprocess.run([*args, "--epochs", "2"], capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert first.returncode == 0, first.stderr  # a finished sweep, then a longer one to stop
    proc = subprocess.Popen([*args, "--epochs", "2000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())

    async def scenario(app, pilot):
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.sweep is not None and screen.sweep.in_progress, timeout=120)
        status = screen.query_one("#sweep-status")
        assert screen.query_one("#sweep-table").row_count == 2
        await wait_for(pilot, lambda: "running: x stops it" in str(status.render()))
        await pilot.press("x")
        await wait_for(pilot, lambda: proc.poll() is not None, timeout=120)
        await wait_for(pilot, lambda: "stopped: `tui-trainer sweep` again resumes it" in str(status.render()),
                       timeout=30)

    try:
        in_app(tmp_path, scenario, (120, 40))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1 and "stopped: run the same command again to resume" in out, err
    # the finished short sweep, and the stopped one
    folders = [p.parent for p in (tmp_path / "runs").glob("sweep-*-*/p000-s0")]
    folder = max(folders, key=lambda f: (f / "sweep.json").stat().st_mtime)
    results = json.loads((folder / "sweep.json").read_text())
    assert results["running"] is None and not (folder / "STOP").exists()
    stopped = json.loads((folder / "p000-s0" / "summary.json").read_text())
    assert stopped["status"] == "stopped"
    assert stopped["reason"] == "the sweep was asked to stop"
    assert (folder / "p000-s0" / "last.pt").exists()


def test_the_runs_view_filters_runs_by_words(tmp_path, small_data):

    train_runs(tmp_path / "runs", small_data,
               {"alpha": {"train.epochs": 1}, "beta": {"train.epochs": 1, "tricks.dropout.enabled": False}})

    async def scenario(app, pilot):
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        screen = app.screen
        assert len(screen.runs) == 2
        await pilot.press("slash")
        await pilot.press(*"beta")
        await wait_for(pilot, lambda: len(screen.runs) == 1)
        assert screen.runs[0].id.endswith("beta") and screen.query_one("#runs-table").row_count == 1
        screen.query_one("#runs-filter").value = "dropout completed"  # every word must match
        await wait_for(pilot, lambda: [r.id[-5:] for r in screen.runs] == ["alpha"])

    in_app(tmp_path, scenario, (120, 40))


def test_a_run_stopped_in_the_app_resumes_from_the_runs_view(tmp_path):
    import json

    async def scenario(app, pilot):
        await start_training(app, pilot, 10, after_steps=40)  # long enough that the stop lands before the end
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)
        run = Path(app.session.run_dir)
        assert app.session.summary["status"] == "stopped"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert app.screen.runs[0].path == run
        await pilot.press("u")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen) and app.session.resume == run)
        await wait_for(pilot, app.session.finished.is_set, timeout=120)
        assert app.session.summary["status"] in ("completed", "early_stopped") and Path(app.session.run_dir) == run
        started = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
                   if '"run_started"' in line]
        assert len(started) == 2 and started[1]["start_step"] > 0  # it went on from its last.pt, in its own folder

    in_app(tmp_path, scenario, (120, 40))


def test_the_overlay_switches_a_curve_to_linear_and_smooths_the_training_loss(tmp_path, small_data):
    from tui_trainer.tui.widgets.overlay_plot import OverlayPlot, ema

    assert ema([(0, 1.0), (1, 3.0)], 0.5) == [(0, 1.0), (1, 2.3333333333333335)]  # bias-corrected
    train_runs(tmp_path / "runs", small_data, {"one": {"train.epochs": 2}})

    async def scenario(app, pilot):
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        plot = app.screen.query_one(OverlayPlot)
        await pilot.press("space", "m")  # the training loss, on a log scale
        assert "training loss (mean per column) (log)" in str(plot.render())
        await pilot.press("o", "e")
        drawn = str(plot.render())
        assert "(log)" not in drawn.splitlines()[0] and "(EMA 0.9)" in drawn and plot.log_scale["val_loss"]  # per curve
        await pilot.press("m")  # the LR is never smoothed
        assert "EMA" not in str(plot.render()).splitlines()[0]

    in_app(tmp_path, scenario, (120, 40))


def test_the_overlay_draws_runs_over_seeds_as_a_mean_and_a_band(tmp_path, small_data):
    from tui_trainer.tui.widgets.overlay_plot import OverlayPlot

    train_runs(tmp_path / "runs", small_data, {f"s{seed}": {"train.epochs": 2, "train.seed": seed} for seed in (0, 1)})

    async def scenario(app, pilot):
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        plot = app.screen.query_one(OverlayPlot)
        await pilot.press("space", "down", "space")
        [(legend, series, styles)] = plot._entries("val_loss", False)
        assert legend == "test × 2 seeds: mean, dim: min and max" and styles[1].startswith("dim")
        mean, low, high = series
        assert all(lo <= m <= hi for (_, m), (_, lo), (_, hi) in zip(mean, low, high)) and len(mean) == 2
        assert "× 2 seeds" in str(plot.render())

    in_app(tmp_path, scenario, (120, 40))


def test_a_key_that_does_not_apply_to_the_run_under_the_cursor_says_why(tmp_path):
    """u on a completed run, w on a run that is not training: one warning each, nothing started (t on
    a finished run treats it: tests/test_doctor_app.py)."""
    from doctor_runs import events, falling
    from helpers import write_run

    write_run(tmp_path / "runs", "20261207-120000-cnn-mnist1d", make_config(), events(falling(4), falling(4)))

    async def scenario(app, pilot):
        await pilot.press("r")
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_for(pilot, lambda: len(runs.runs) == 1)
        said = []
        runs.notify = lambda text, severity="information", **_: said.append((text, severity))
        await pilot.press("u")
        await pilot.press("w")
        assert said == [("20261207-120000-cnn-mnist1d is completed: only a stopped, failed, pruned or killed run "
                         "can be resumed", "warning"),
                        ("20261207-120000-cnn-mnist1d is completed: w follows a run while it trains", "warning")]
        assert isinstance(app.screen, RunsScreen) and app.session is None  # nothing resumed or followed

    in_app(tmp_path, scenario, size=(120, 40))
