"""A run is controlled one way: typed commands submitted to its Control, from any channel (the
worker's socket, the run folder's inbox, a trial's stop files), each answered once."""

from __future__ import annotations

import json
import pickle
import threading
import time

import pytest

from tui_trainer.engine.commands import COMMANDS, Pause, Resume, Sample, Steer, Stop, from_json, to_json
from tui_trainer.engine.control import Control


def answers() -> tuple[list, callable]:
    heard = []
    return heard, lambda status, detail, step: heard.append((status, detail, step))


def test_every_command_travels_as_json_and_pickled_and_a_bad_one_is_one_line():
    for command in (Stop("the user", "pruned"), Pause(), Resume(), Sample(), Steer({"lr_scale": 0.5}, "nudge")):
        assert from_json(json.loads(json.dumps(to_json(command)))) == command
        assert pickle.loads(pickle.dumps(command)) == command
    assert set(COMMANDS) == {"stop", "pause", "resume", "sample", "steer"}
    for bad, why in (([], "a JSON object"), ({"command": "halt"}, "unknown command 'halt'"),
                     ({"command": "steer", "changes": [1]}, "a JSON object of settings"),
                     ({"command": "stop", "why": "x"}, "stop:")):
        with pytest.raises(ValueError, match=why):
            from_json(bad)


def test_a_pause_is_answered_once_the_loop_waits_in_it_and_a_resume_wakes_it():
    control, (heard, reply) = Control(), answers()
    control.submit(Pause(), reply)
    assert control.paused and heard == []  # not yet: the loop has not reached a step boundary
    waited = []
    loop = threading.Thread(target=lambda: waited.append(control.wait_while_paused()))
    loop.start()
    assert control.held.wait(10)
    deadline = time.monotonic() + 10
    while not heard and time.monotonic() < deadline:
        time.sleep(0.01)
    assert heard == [("applied", "paused", -1)]
    control.submit(Resume(), reply)
    loop.join(10)
    assert not loop.is_alive() and not control.held.is_set() and waited[0] > 0
    assert heard[-1] == ("applied", "resumed", -1)


def test_a_pause_taken_back_before_the_loop_got_to_it_says_so_and_a_stopping_run_refuses_one():
    control, (heard, reply) = Control(), answers()
    control.submit(Pause(), reply)
    control.submit(Resume())
    assert heard == [("refused", "resumed before the pause began", -1)] and not control.paused
    assert control.wait_while_paused() < 1  # nothing to wait for
    control.submit(Stop("done"), reply)
    control.submit(Pause(), reply)
    assert heard[1:] == [("applied", "stopping at the next step", -1), ("refused", "the run is stopping", -1)]
    assert not control.paused and control.stop_requested and control.reason == "done"


def test_steering_waits_for_the_loop_and_what_is_left_when_the_run_ends_is_refused():
    control, (heard, reply) = Control(), answers()
    control.submit(Steer({"lr_scale": 0.5}, "test"), reply)
    control.submit(Sample())
    assert control.waiting and control.take_sample_request() and not control.take_sample_request()
    control.submit(Pause(), reply)
    control.close("the run ended (completed) before its next step")
    assert heard == [("refused", "the run ended (completed) before its next step", -1)] * 2
    assert not control.waiting and control.take_changes() == []


def test_a_stop_reaches_the_children_and_a_child_stopped_alone_leaves_the_others_be():
    parent = Control()
    first = parent.child()
    first.submit(Stop("pruned by ASHA", "pruned"))  # one trial of an experiment, pruned
    second = parent.child()
    assert first.stop_requested and first.status == "pruned"
    assert not parent.stop_requested and not second.stop_requested
    parent.submit(Stop("interrupted by SIGINT"))
    assert second.stop_requested and (second.reason, second.status) == ("interrupted by SIGINT", "stopped")
    late = parent.child()  # a trial that starts after the stop: stopped at once
    assert late.stop_requested and late.reason == "interrupted by SIGINT"
    assert first.reason == "pruned by ASHA"  # the first word on a stop is kept


def test_the_inbox_decodes_requests_into_commands_and_answers_each(tmp_path):
    from tui_trainer.runs.nudge import NUDGES, Inbox, reply_path, send, wait_reply

    control = Control()
    inbox = Inbox(tmp_path, control, interval=0.02).start()
    try:
        stop = send(tmp_path, Stop("through the folder"))
        assert wait_reply(stop, 10) == {"status": "applied", "detail": "stopping at the next step", "step": -1}
        assert control.stop_requested and control.reason == "through the folder"
        steer = send(tmp_path, Steer({"dropout": 0.1}, "app"))
        deadline = time.monotonic() + 10
        while not control.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        [(changes, source, _)] = control.take_changes()
        assert changes == {"dropout": 0.1} and source == "nudge"  # the folder's requests are nudges
        (tmp_path / NUDGES / "bad.json").write_text('{"command": "halt"}')
        answer = wait_reply(tmp_path / NUDGES / "bad.json", 10)
        assert answer["status"] == "refused" and "unknown command 'halt'" in answer["detail"]
    finally:
        inbox.stop()
    assert not reply_path(steer).exists()  # taken by the loop: its answer comes from the step boundary
