"""The loop's parts on their own: the on-device step-statistics buffer, the non-finite
policy's verdicts, the loop state a checkpoint holds, and the task's evaluation."""

import json
import math

import pytest
import torch
from helpers import make_config
from torch import nn

from tui_trainer.data import Split
from tui_trainer.engine import stats as stats_module
from tui_trainer.engine.nonfinite import NonFinitePolicy
from tui_trainer.engine.precision import FP32
from tui_trainer.engine.state import RunState
from tui_trainer.engine.stats import StepStatsBuffer
from tui_trainer.engine.task import TASKS, evaluate, task_for


def test_the_buffer_keeps_steps_on_the_device_until_one_fetch(monkeypatch):
    monkeypatch.setattr(stats_module, "FLUSH_SECONDS", 1e9)
    buffer = StepStatsBuffer(3, torch.device("cpu"))
    assert buffer.fetch() is None  # nothing pending
    for i in range(2):
        buffer.record(torch.tensor(float(i)), torch.tensor(10.0 + i), 0.1 * (i + 1), samples=8)
        assert not buffer.due()
    row = buffer.record(torch.tensor(2.0), torch.tensor(12.0), 0.3, samples=4)
    row[2] = 1024.0  # what the loop writes for a GradScaler
    assert buffer.due()  # full
    fetched = buffer.fetch()
    assert fetched.losses == [0.0, 1.0, 2.0] and fetched.grad_norms == [10.0, 11.0, 12.0]
    assert fetched.lrs == pytest.approx([0.1, 0.2, 0.3]) and fetched.scales[2] == 1024.0
    assert fetched.samples == 20 and fetched.samples_per_second > 0
    assert buffer.pending == 0 and buffer.fetch() is None
    monkeypatch.setattr(stats_module, "FLUSH_SECONDS", 0.0)  # time alone also makes a fetch due
    buffer.record(torch.tensor(1.0), torch.tensor(1.0), 0.1, samples=1)
    assert buffer.due()


def _fetched(losses, norms, scales=None):
    buffer = StepStatsBuffer(len(losses), torch.device("cpu"))
    for i, (loss, norm) in enumerate(zip(losses, norms)):
        row = buffer.record(torch.tensor(loss), torch.tensor(norm), 0.1, samples=1)
        if scales is not None:
            row[2] = scales[i]
    return buffer.fetch()


def _policy(overrides, scaler=None, model=None):
    config = make_config(overrides)
    counts = {"nonfinite": 0, "grad_scaler": 0}
    scaler = scaler or torch.amp.GradScaler("cpu", enabled=False)  # the loop's scaler without fp16
    return NonFinitePolicy(config.train, model or nn.Linear(2, 2), scaler, counts), counts


def test_stop_policy_names_the_first_non_finite_step_as_the_divergence():
    policy, _ = _policy({})
    assert policy.review(_fetched([1.0, 2.0], [1.0, 1.0]), 0, 0).outcome is None
    review = policy.review(_fetched([1.0, math.nan, math.inf], [1.0, 1.0, 1.0]), 10, 0)
    assert review.outcome.status == "diverged" and "at step 12;" in review.outcome.reason
    review = policy.review(_fetched([1.0, 1.0], [1.0, math.inf]), 20, 0)
    assert "at step 22;" in review.outcome.reason and "lower train.lr" in review.outcome.reason
    assert not policy.skip(torch.tensor([math.nan, 1.0, 0.0]), 23)  # stop never skips a step


def test_skip_policy_skips_restores_batchnorm_and_ends_past_its_limit():
    model = nn.BatchNorm1d(3)
    policy, counts = _policy({"train.on_nonfinite": "skip", "train.max_skipped_steps": 1}, model=model)
    policy.before_step()
    with torch.no_grad():
        model.running_mean.fill_(math.nan)  # what a NaN batch's forward pass does
    assert policy.skip(torch.tensor([math.nan, 1.0, 0.0]), 5)
    assert torch.equal(model.running_mean, torch.zeros(3))  # put back
    assert not policy.skip(torch.tensor([1.0, 1.0, 0.0]), 6)
    review = policy.review(_fetched([math.nan, 1.0], [1.0, 1.0]), 4, 0)
    assert review.skipped == {5} and review.outcome is None and counts["nonfinite"] == 1
    assert [(e.cause, e.steps) for e in review.events] == [("nonfinite", [5])]
    policy.skip(torch.tensor([1.0, math.inf, 0.0]), 7)
    review = policy.review(_fetched([1.0], [math.inf]), 6, 0)
    assert review.outcome.status == "diverged" and "train.max_skipped_steps = 1" in review.outcome.reason


def test_a_drop_in_the_grad_scalers_scale_is_a_skip_not_a_divergence():
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    policy, counts = _policy({}, scaler=scaler)
    review = policy.review(_fetched([1.0, 1.0, 1.0], [1.0, math.inf, 1.0], scales=[1024.0, 512.0, 512.0]), 0, 3)
    assert review.outcome is None and counts["grad_scaler"] == 1
    assert [(e.cause, e.steps, e.epoch) for e in review.events] == [("grad_scaler", [2], 3)]


def test_run_state_round_trips_through_a_checkpoint():
    state = RunState(epochs_run=2, global_step=37, samples=4000, train_seconds=3.5)
    state.skipped["nonfinite"] = 2
    state.begin_epoch(2, torch.tensor([1, 2, 3], dtype=torch.uint8))
    state.step_in_epoch, state.epoch_losses = 5, [0.5, 0.25]
    saved = state.checkpoint(mid_epoch=True)
    assert saved["epoch"] == 2 and saved["step_in_epoch"] == 5
    back = RunState.from_checkpoint({**saved, "model": {}},
                                    {"model": {"w": torch.ones(1)}, "epoch": 2, "metrics": {"val_loss": 0.5}})
    assert (back.epochs_run, back.global_step, back.samples, back.skipped["nonfinite"]) == (2, 37, 4000, 2)
    assert back.begin_epoch(2, torch.tensor([1], dtype=torch.uint8)) == 5 and back.epoch_losses == [0.5, 0.25]
    assert back.best_metrics == {"val_loss": 0.5} and back.begin_epoch(3, torch.tensor([1], dtype=torch.uint8)) == 0
    at_boundary = state.checkpoint(mid_epoch=False)
    assert at_boundary["step_in_epoch"] == 0 and at_boundary["epoch_losses"].numel() == 0
    later_best = RunState.from_checkpoint(saved, {"model": {}, "epoch": 3, "metrics": {}})
    assert later_best.best_state is None  # a best.pt newer than last.pt is re-made by the replay


def test_classification_evaluates_loss_and_accuracy_in_one_transfer():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
    split = Split(x, torch.tensor([0, 1, 1, 1]))
    metrics = evaluate(model, split, TASKS["classification"](), FP32, torch.device("cpu"), "val")
    expected = nn.functional.cross_entropy(x, split.y).item()
    assert metrics["val_accuracy"] == 0.75 and metrics["val_loss"] == pytest.approx(expected)


def test_a_monitor_the_task_does_not_have_is_refused():
    assert task_for("classification",
                    make_config({"tricks.early_stopping.monitor": "val_accuracy"})).name == "classification"

    class NoAccuracy:
        name, metrics = "regression", ()

        def __init__(self, label_smoothing: float = 0.0):
            pass

    TASKS["regression-test"] = NoAccuracy
    try:
        from tui_trainer.engine.precision import SetupError

        with pytest.raises(SetupError, match="tricks.early_stopping.monitor: .* without 'val_accuracy'"):
            task_for("regression-test", make_config({"tricks.early_stopping.monitor": "val_accuracy"}))
    finally:
        del TASKS["regression-test"]


def test_epoch_events_carry_the_tasks_metrics_and_old_ones_still_read():
    from tui_trainer.display import epoch_line
    from tui_trainer.engine.events import EpochEnded, event_from_dict, event_to_dict

    event = EpochEnded(3, 0.41, 0.39, 0.88, 3e-3, 0.4, 10_512.0,
                       metrics={"val_accuracy": 0.88, "val_other": float("nan")})
    back = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
    assert back.metrics["val_accuracy"] == 0.88 and math.isnan(back.metrics["val_other"])
    assert "acc 0.8800  other nan" in epoch_line(back, 30)
    old = {"event": "epoch_ended", "epoch": 3, "train_loss": 0.41, "val_loss": 0.39, "val_accuracy": 0.8825, "lr": 3e-3,
           "seconds": 0.4, "samples_per_second": 10512.0}  # written before epochs carried their metrics
    assert epoch_line(event_from_dict(old),
                      30) == "epoch   3/30  train 0.4100  val 0.3900  acc 0.8825  lr 3.00e-03  10,512/s  0.4s"


def test_the_summary_names_the_tasks_headline_metric(small_data):
    from tui_trainer.engine.trainer import Trainer

    summary = Trainer(make_config({"train.epochs": 1}), data=small_data).run().summary
    assert summary["headline"] == "test_accuracy" and summary["headline_mode"] == "max"
    assert summary["test_metrics"] == {"test_accuracy": summary["test_accuracy"]}
    assert summary["best_val_metrics"] == {"val_accuracy": summary["best_val_accuracy"]}
