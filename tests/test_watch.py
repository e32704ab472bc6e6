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
            await pilot.press("q")

    asyncio.run(scenario())
