"""The doctor beside the live curves: `watch` (and the app, which shares its Monitor) shows the
findings as the events arrive, epoch by epoch, with a mark on the curves where each began; a run
with nothing wrong says so, and a new run clears what the last one found."""

from __future__ import annotations

import asyncio

from doctor_runs import events, falling, rising_val
from helpers import make_config, write_run

from tui_trainer.tui.watch import WatchApp
from tui_trainer.tui.widgets.doctor_panel import DoctorPanel


def test_watch_shows_the_doctors_findings_and_marks_where_they_began(tmp_path):
    n = 16
    run = write_run(tmp_path, "20261207-100000-cnn-mnist1d", make_config(),
                    events(falling(n), rising_val(8, n, 0.4), patience=None, tricks=["weight_decay"]))

    async def look():
        app = WatchApp(run)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                if app.ended:
                    break
            monitor = app.monitor
            panel = app.query_one(DoctorPanel)
            marks = [(m.step, m.text) for m in monitor.markers.marks if m.kind == "doctor"]
            legend = [word for _, kind, word in monitor.markers.legend(100) if kind == "doctor"]
            seen = panel.display, str(panel.render()), marks, legend
            monitor.feed(events(falling(3), falling(3)))  # a new run in the same view: the findings begin anew
            after = (panel.diagnosis.epochs, str(panel.render()),
                     [m for m in monitor.markers.marks if m.kind == "doctor"])
            return seen, after

    (shown, text, marks, legend), (epochs, text_after, marks_after) = asyncio.run(look())
    assert shown and text.startswith("doctor warning over-fitting (high) from epoch 8: try --early-stopping")
    assert "early stopping off on a run that over-fits" in text.splitlines()[1]
    assert (8 * 20, "over-fitting") in marks and legend == ["doctor"]  # the end of epoch 8, 20 steps an epoch
    assert epochs == 3 and text_after.startswith("doctor nothing wrong in 3 epochs (14 checks)")
    assert marks_after == []


def test_the_panel_waits_for_the_first_epoch(tmp_path):
    run = write_run(tmp_path, "20261207-100000-cnn-mnist1d", make_config(), events(falling(3), falling(3))[:2])

    async def look():
        app = WatchApp(run)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            return app.query_one(DoctorPanel).display

    assert asyncio.run(look()) is False  # started, one StepStats, no epoch yet: nothing to judge


def test_t_in_the_runs_view_treats_a_run_and_the_labs_view_shows_it_beside_the_original(tmp_path, monkeypatch,
                                                                                           mnist1d):
    from app_pilot import in_app, wait_for

    from tui_trainer.doctor import treat

    monkeypatch.setattr(treat, "DEFAULT_SEEDS", 2)  # two seeds a side, on a toy budget
    n = 12
    steady = [2.3 * 0.99 ** e for e in range(n)]  # a loss still falling at its pace: the LR too low
    config = make_config({"train.lr": 0.00003, "data.train_limit": 256, "model.cnn.channels": [8],
                          "train.batch_size": 64, "train.epochs": 2})
    run = write_run(tmp_path / "runs", "20261207-110000-cnn-mnist1d", config,
                    events(steady, steady, weight_norms=[10 + 1e-4 * e for e in range(n)], epochs=n))

    async def scenario(app, pilot):
        from textual.widgets import Static

        from tui_trainer.tui.screens.labs import LabsScreen
        from tui_trainer.tui.screens.runs import RunsScreen
        from tui_trainer.tui.widgets.overlay_plot import OverlayPlot

        await pilot.press("r")
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_for(pilot, lambda: "t treats it" in str(runs.query_one("#run-doctor", Static).render()))
        line = " ".join(str(runs.query_one("#run-doctor", Static).render()).split())
        assert line.startswith("doctor warning: learning rate too low") and "(--lr 0.0003, 2 seeds a side)" in line
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, LabsScreen))
        labs = app.screen
        await wait_for(pilot, lambda: labs.job is not None and labs.job.finished.is_set(), timeout=180)
        await wait_for(pilot, lambda: "complete" in str(labs.query_one("#lab-status", Static).render()), timeout=10)
        shown = str(labs.query_one("#lab-text", Static).render())
        assert "the run treated: 20261207-110000-cnn-mnist1d, completed" in shown  # the original, beside
        assert "as run" in shown and "prescribed" in shown and labs.job.progress.verdict.headline in shown
        ids = [r.id for r in labs.query_one(OverlayPlot).runs]
        assert ids[0] == run.name and len(ids) == 5  # the original's curves, then the treatment's four runs
        await pilot.press("escape")
        await wait_for(pilot, lambda: "treated: " in str(runs.query_one("#run-doctor", Static).render()))

    in_app(tmp_path, scenario, size=(140, 45))
    assert (run / "treat-20261207-110000-cnn-mnist1d-lr_too_low.toml").exists()
