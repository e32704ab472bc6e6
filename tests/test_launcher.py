"""The launcher that starts every run: refusals before any folder, one writer per folder (its
lock, and what `runs list` reads from it), the data loaded once per process, and a run reached
through its folder (stop, pause, resume)."""

import json
import threading
import time

import pytest
from helpers import make_config

from tui_trainer.engine.events import StepStats
from tui_trainer.errors import UserError
from tui_trainer.launcher import DataCache, Launcher
from tui_trainer.runs.catalog import load_run
from tui_trainer.runs.lock import LOCK, RunBusy, WriterLock, holder
from tui_trainer.engine.commands import Pause, Resume, Stop
from tui_trainer.runs.nudge import reply_path, send, wait_reply

SMALL = {"train.batch_size": 16, "model.cnn.channels": [8], "data.train_limit": 512}


def test_a_refused_run_leaves_no_folder(tmp_path):
    config = make_config({"train.device": "cuda", "train.epochs": 1})
    launcher = Launcher(config, runs_dir=tmp_path / "runs")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: nothing to refuse")
    with pytest.raises(UserError, match="train.device: 'cuda'"):
        launcher.run()
    assert not (tmp_path / "runs").exists()


def test_the_lock_lets_one_writer_in_and_says_who_holds_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    first = WriterLock(run).acquire()
    assert holder(run)["pid"] == first.record["pid"]
    with pytest.raises(RunBusy, match="is being trained by process"):
        WriterLock(run).acquire()  # a second writer, even in the same process
    first.note(detached=True)
    assert holder(run)["detached"] is True
    first.release()
    assert holder(run) is None and (run / LOCK).exists()
    WriterLock(run).acquire().release()  # free again


def test_runs_list_reads_running_and_killed_from_the_lock(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    from tui_trainer.config import save_config

    save_config(make_config(), run / "config.toml")
    # a resumed run keeps the summary of its stop while it trains again
    (run / "summary.json").write_text(json.dumps({"status": "stopped"}))
    with WriterLock(run):
        assert load_run(run).status == "running"
    assert load_run(run).status == "stopped"
    (run / "summary.json").unlink()
    assert load_run(run).status == "interrupted"  # the lock file is there, its writer gone, no summary: killed


def test_runs_of_the_same_data_share_it(tmp_path):
    cache = DataCache()
    first = Launcher(make_config({**SMALL, "train.epochs": 1}), runs_dir=tmp_path, cache=cache)
    first.run()
    second = Launcher(make_config({**SMALL, "train.epochs": 1, "train.seed": 3}), runs_dir=tmp_path, cache=cache)
    assert second.prepare().data is first.trainer.data
    other = Launcher(make_config({**SMALL, "data.train_limit": 256, "train.epochs": 1}), runs_dir=tmp_path, cache=cache)
    assert other.prepare().data is not first.trainer.data
    assert len(list(tmp_path.iterdir())) == 1  # preparing makes no folder


def test_a_run_is_paused_resumed_and_stopped_through_its_folder(tmp_path):
    steps = []
    launcher = Launcher(make_config({**SMALL, "train.epochs": 500}), runs_dir=tmp_path,
                        sinks=[lambda e: isinstance(e, StepStats) and steps.append(len(e.losses))])
    from tui_trainer.engine import Control

    control = Control()
    result = {}
    thread = threading.Thread(target=lambda: result.update(r=launcher.run(control)))
    thread.start()
    deadline = time.monotonic() + 60
    while launcher.path is None or not steps:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = launcher.path
    with pytest.raises(RunBusy):
        Launcher(resume=run).resolve()  # a second writer is refused before it reads anything
    assert wait_reply(send(run, Pause()), 30)["status"] == "applied"  # answered once the loop waits in it
    assert control.held.is_set()
    assert wait_reply(send(run, Resume()), 30)["detail"] == "resumed"
    request = send(run, Stop("stopped by a test"))
    thread.join(120)
    assert not thread.is_alive() and json.loads(reply_path(request).read_text())["status"] == "applied"
    assert result["r"].status == "stopped" and result["r"].summary["reason"] == "stopped by a test"
    assert holder(run) is None and (run / "last.pt").exists()
