"""The app and its worker speak in types: one frozen dataclass a message, dispatched by type, and
each job kind declared once, as a spec that travels pickled and runs itself in the worker."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
from helpers import make_config

from tui_trainer.engine.commands import Steer
from tui_trainer.worker import jobs, protocol


def test_every_message_is_frozen_travels_pickled_and_has_one_handler_name():
    config = make_config()
    made = {protocol.StartJob: (jobs.TrainJob(config),), protocol.Describe: (config, 1, 3),
            protocol.Submit: (Steer({"lr_scale": 0.5}), 7), protocol.Detach: (), protocol.Ready: ({"torch": "2"},),
            protocol.Described: (3, {"text": "x"}), protocol.Gone: (-9, "Killed"), protocol.Loading: ("decode", 1, 2),
            protocol.Prepared: (True,), protocol.Events: ([], 0.0), protocol.Replied: (7, "applied", "ok", 12),
            protocol.Update: ([(0.1, 2.0)],), protocol.Detached: ("runs/x",), protocol.Finished: (None, "refused")}
    assert set(made) == set(protocol.MESSAGES)
    for cls, args in made.items():
        message = cls(*args)
        assert pickle.loads(pickle.dumps(message)) == message
        with pytest.raises(dataclasses.FrozenInstanceError):
            message.x = 1
        if cls not in (protocol.StartJob, protocol.Describe, protocol.Submit, protocol.Detach):  # the worker's
            assert isinstance(cls.for_app, bool)
    handlers = {protocol._HANDLERS[cls] for cls in protocol.MESSAGES}
    assert len(handlers) == len(protocol.MESSAGES) and "got_start_job" in handlers and "got_finished" in handlers


def test_dispatch_calls_the_method_for_the_type_and_says_when_there_is_none():
    heard = []

    class Consumer:
        def got_replied(self, message):
            heard.append(message)

    replied = protocol.Replied(1, "refused", "no", -1)
    assert protocol.dispatch(Consumer(), replied) and heard == [replied]
    assert not protocol.dispatch(Consumer(), protocol.Update(None))


def test_each_job_kind_is_one_frozen_class_that_travels_pickled_and_says_what_it_is():
    config = make_config()
    specs = [jobs.TrainJob(config, Path("runs"), None), jobs.AblateJob(config, 2, Path("runs")),
             jobs.LabJob("overfitting", None, Path("runs")), jobs.LRFindJob(config, 40)]
    assert {type(s) for s in specs} == set(jobs.JobSpec.__subclasses__())  # a new kind is tested here too
    for spec in specs:
        assert pickle.loads(pickle.dumps(spec)) == spec
        assert spec.what and spec.refusal and callable(spec.run)
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.config = None
    assert jobs.TrainJob.can_leave and not jobs.LRFindJob.locks_settings
