"""The app's runs train in its worker process: what happens when the worker dies, when the app
dies, when the app is left with a run training and opened again, and when a second writer
reaches for a folder that is being trained."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_pilot import make_app, settings_ready, start_training, wait_for

from tui_trainer.runs.catalog import load_run
from tui_trainer.runs.lock import holder
from tui_trainer.runs.resume import load_resume
from tui_trainer.tui.messages import ResumeRequested
from tui_trainer.tui.screens.quit import QuitScreen
from tui_trainer.tui.widgets.monitor import Monitor
from tui_trainer.tui.widgets.settings_panel import SettingsPanel
from tui_trainer.tui.widgets.tail_log import TailLog

pytestmark = pytest.mark.usefixtures("mnist1d")
HERE = Path(__file__).resolve().parent


def log_lines(app) -> list[str]:
    return app.query_one(TailLog).plain_lines


def wait_until(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """The process runs (a zombie, ended but not yet reaped by whoever adopted it, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def summary_status(run: Path) -> str | None:
    try:
        return json.loads((run / "summary.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def test_a_killed_worker_is_one_line_naming_the_folder_and_the_run_resumes(tmp_path):
    async def main():
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            await start_training(app, pilot, 300, after_steps=150)  # past the first epoch's last.pt
            dead = app.worker.pid
            os.kill(dead, signal.SIGKILL)
            await wait_for(pilot, app.session.finished.is_set)
            await pilot.pause(0.2)
            run = Path(app.session.run_dir)
            said = [line for line in log_lines(app) if "worker process" in line]
            assert len(said) == 1 and str(run) in said[0] and "killed by SIGKILL" in said[0]
            assert "u in the Runs view resumes it" in said[0]
            assert not app.busy
            await wait_for(pilot, lambda: app.worker.pid != dead and app.worker.info is not None)  # a new worker, ready
            assert load_run(run).status == "interrupted"
            config, last, _ = load_resume(run)  # what u in the Runs view goes on from (test_tui_runs.py resumes one)
            assert last["epoch"] >= 1 and config.train.epochs == 300

    asyncio.run(main())


def test_a_dead_app_stops_its_run_within_seconds_and_leaves_it_resumable(tmp_path):
    app_alone = [sys.executable, str(HERE / "app_alone.py"), str(tmp_path / "runs")]
    proc = subprocess.Popen(app_alone, stdout=subprocess.PIPE, text=True)
    try:
        facts = json.loads(proc.stdout.readline())
    finally:
        proc.kill()  # SIGKILL: no goodbye from the app
        proc.wait()
    assert not facts["torch_imported"]  # the app's process never needed torch
    run = Path(facts["run_dir"])
    wait_until(lambda: summary_status(run) is not None and holder(run) is None, timeout=30)
    assert summary_status(run) == "stopped" and (run / "last.pt").exists()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["reason"] == "the app closed"
    wait_until(lambda: not alive(facts["worker_pid"]), timeout=10)  # no orphan training on


def leave_a_run_training(tmp_path, epochs: int) -> tuple[Path, int]:
    """Start a run of ``epochs`` in an app, quit it with q and l; the run's folder and its worker's pid."""

    async def leave():
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            # every epoch trains: early stopping could end a long run before the test comes back to it
            app.query_one(SettingsPanel).set_value("tricks.early_stopping.enabled", False)
            await start_training(app, pilot, epochs)
            app.set_focus(None)
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
            await pilot.press("l")
            await wait_for(pilot, lambda: app.quitting)
            return Path(app.session.run_dir), app.worker.pid

    return asyncio.run(leave())


def test_a_run_left_training_completes_and_a_new_app_follows_steers_and_stops_it(tmp_path):
    run, pid = leave_a_run_training(tmp_path, 300)
    time.sleep(1.0)
    info = holder(run)
    assert info is not None and info["pid"] == pid and info["detached"]  # training on, with no app

    async def come_back():
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            # said once the app has looked at its runs folder (just after its first screen)
            await wait_for(pilot, lambda: any(run.name in line and "training without an app" in line
                                              for line in log_lines(app)))
            await pilot.press("r")
            await wait_for(pilot, lambda: app.runs_screen is not None and app.runs_screen.runs)
            assert app.runs_screen.runs[0].status == "running"
            app.post_message(ResumeRequested(run))  # a second writer on the same folder: refused by its lock
            await wait_for(pilot, lambda: app.session is not None and app.session.finished.is_set())
            assert "is being trained by process" in app.session.failure
            await pilot.press("r")
            await wait_for(pilot, lambda: app.screen is app.runs_screen)
            await pilot.press("w")  # follow it in the main view
            await wait_for(pilot, lambda: app.training and app.query_one(Monitor).steps_done > 0)
            app.set_focus(None)
            await pilot.press("minus")  # LR x0.5, through its folder
            await wait_for(pilot, lambda: any("lr × 0.5" in line and "(nudge)" in line for line in log_lines(app)))
            await pilot.press("x")
            await wait_for(pilot, app.session.finished.is_set)
            assert app.session.summary["status"] == "stopped" and app.session.failure is None

    asyncio.run(come_back())
    wait_until(lambda: holder(run) is None, timeout=30)
    assert summary_status(run) == "stopped" and (run / "last.pt").exists()


def test_a_short_run_left_training_ends_with_its_summary(tmp_path):
    run, _ = leave_a_run_training(tmp_path, 4)
    wait_until(lambda: summary_status(run) is not None and holder(run) is None)
    assert summary_status(run) in ("completed", "early_stopped") and (run / "best.pt").exists()


def test_q_then_enter_stops_the_run_and_quits_and_escape_stays(tmp_path):
    async def main():
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            await start_training(app, pilot, 300)
            app.set_focus(None)
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, QuitScreen))
            assert app.training and not app.quitting
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.quitting)
            return Path(app.session.run_dir), app.session

    run, session = asyncio.run(main())
    assert session.summary["status"] == "stopped" and summary_status(run) == "stopped" and (run / "last.pt").exists()


def test_train_refuses_to_resume_a_folder_another_process_trains(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "TUI_TRAINER_RUNS": str(runs)}
    cli = [sys.executable, "-m", "tui_trainer"]
    long_run = [*cli, "train", "--epochs", "300", "--threads", "1", "--json"]
    first = subprocess.Popen(long_run, stdout=subprocess.PIPE, text=True, env=env)
    try:
        run = None
        for line in first.stdout:
            event = json.loads(line)
            if event.get("event") == "run_started":
                run = Path(event["run_dir"])
                break
        second = subprocess.run([*cli, "train", "--resume", str(run)], capture_output=True, text=True, env=env,
                                timeout=120)
        assert second.returncode == 2 and "is being trained by process" in second.stderr
        assert "Traceback" not in second.stderr
        assert holder(run)["pid"] == first.pid
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert summary_status(run) == "stopped"
