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
