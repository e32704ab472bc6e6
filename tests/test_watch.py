"""`tui-trainer watch`: follows a metrics.jsonl that another writer appends to, read-only."""

import asyncio
import time
from pathlib import Path

import pytest
from helpers import make_config

from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder
from tui_trainer.runs.follow import MetricsFollower
from tui_trainer.tui.watch import WatchApp
from tui_trainer.tui.widgets.monitor import Monitor


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, small_data):
    folder = RunFolder.create(tmp_path_factory.mktemp("runs"), "watched")
    result = Trainer(make_config({"train.epochs": 3, "train.stats_every": 4}), data=small_data, run_folder=folder).run()
    return Path(result.run_dir), result.summary


async def wait_for(pilot, condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def test_follower_reads_only_complete_lines_and_restarts_after_truncation(tmp_path, finished_run):
    run, _ = finished_run
    lines = (run / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    target = tmp_path / "metrics.jsonl"
    follower = MetricsFollower(target)
    assert follower.poll() == []  # no file yet
    target.write_bytes(b"".join(lines[:3]) + lines[3][:10])  # a writer mid-line
    assert len(follower.poll()) == 3
    with open(target, "ab") as handle:
        handle.write(lines[3][10:] + b"".join(lines[4:]))
    assert len(follower.poll()) == len(lines) - 3
    target.write_bytes(b"".join(lines[:2]))  # a resume truncated it
    assert len(follower.poll()) == 2 and follower.restarted


def test_watch_follows_a_growing_run_and_shows_it_finished(tmp_path, finished_run):
    run, summary = finished_run
    live = tmp_path / "live"
    live.mkdir()
    (live / "config.toml").write_bytes((run / "config.toml").read_bytes())
    lines = (run / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    half = len(lines) // 2

    async def scenario():
        (live / "metrics.jsonl").write_bytes(b"".join(lines[:half]))
        app = WatchApp(live)
        async with app.run_test(size=(100, 30)) as pilot:
            monitor = app.query_one(Monitor)
            await wait_for(pilot, lambda: monitor.steps_done > 0)
            partial = monitor.steps_done
            assert partial < summary["steps"] and not app.ended
            assert "live" in str(app.query_one("#watch-info").render())
            with open(live / "metrics.jsonl", "ab") as handle:  # the other process goes on
                handle.write(b"".join(lines[half:]))
            await wait_for(pilot, lambda: app.ended)
            assert monitor.steps_done == summary["steps"]
            await pilot.pause(0.2)
            assert "finished" in str(app.query_one("#watch-info").render())
            assert any("test accuracy" in line for line in monitor.log_view.plain_lines)
            marks, legend = monitor.live.plain_lines()[-2:]  # the marker row under the curves, and its legend
            assert "★" in marks and legend.startswith("★ best")
            await pilot.press("q")

    asyncio.run(scenario())


def test_watch_shows_a_text_runs_samples_and_a_forecast_runs_plot(tmp_path):
    """The task's own panel, in watch as in the app: the last sample of a text run; the test
    period's forecast of a series run, with the baselines in words in the log."""
    from tui_trainer.tui.widgets.sample_panel import SamplePanel
    from tui_trainer.tui.widgets.tail_log import TailLog

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    text = {"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, "model.kind": "lstm",
            "model.lstm.hidden_size": 16, "model.lstm.num_layers": 1, "model.lstm.embedding_dim": 8, "train.epochs": 2,
            "train.batch_size": 32, "sample.length": 30}
    series = {"data.dataset": "series", "data.window": 12, "data.horizon": 3, "data.transform": "last_value",
              "data.val_periods": 60, "data.test_periods": 120, "model.kind": "lstm", "model.lstm.hidden_size": 8,
              "model.lstm.num_layers": 1, "tricks.batchnorm.enabled": False, "train.epochs": 2,
              "tricks.early_stopping.monitor": "val_mae"}
    runs = {}
    for name, overrides in (("text", text), ("series", series)):
        folder = RunFolder.create(tmp_path / "runs", name)
        runs[name] = Path(Trainer(make_config(overrides), run_folder=folder).run().run_dir)

    async def look(run):
        app = WatchApp(run)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_for(pilot, lambda: app.ended)
            await pilot.pause(0.2)
            panel = app.query_one(SamplePanel)
            return panel.display, str(panel.render()), "\n".join(app.query_one(TailLog).plain_lines)

    shown, content, _ = asyncio.run(look(runs["text"]))
    assert shown and "sample after epoch 2" in content
    shown, content, log = asyncio.run(look(runs["series"]))
    assert shown and "forecast of co2 on the test period" in content and "3 ahead" in content
    assert any(0x2800 < ord(c) <= 0x28FF for c in content)  # the curves, in braille dots
    assert "the model" in log and "naive" in log and "seasonal_naive" in log
