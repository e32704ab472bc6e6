"""The doctor's checks on a run's epoch curves, on hand-made event streams (no training): over-fitting,
a plateau, an LR too low, a schedule too short or absent, early stopping too eager, each on one side of
its threshold and not on the other; the order findings come in, and the lesson's rules on settings.
The checks on its steps are tests/test_doctor_steps.py's."""

from __future__ import annotations

import math

import pytest
from doctor_runs import STEPS, events, falling, rising_val, started
from helpers import make_config

from tui_trainer.doctor import diagnose, trace_of
from tui_trainer.doctor import thresholds as T
from tui_trainer.doctor.learning import (
    early_stopping_absent,
    early_stopping_eager,
    lr_too_low,
    overfitting,
    plateau,
    schedule_absent,
    schedule_too_short,
)
from tui_trainer.doctor.rules import settings_findings
from tui_trainer.engine.events import EarlyStoppingState, EpochEnded, RunWarning

# -- over-fitting ---------------------------------------------------------------------------------


def test_overfitting_needs_a_rise_clear_of_the_threshold_and_the_noise():
    n = 16
    found = overfitting(trace_of(events(falling(n), rising_val(8, n, 0.4))))
    assert found and found.severity == "warning" and found.epoch == 8
    assert "rose from 0.5 (epoch 8)" in found.evidence and "+40%" in found.evidence and found.confidence == "high"
    assert overfitting(trace_of(events(falling(n), rising_val(8, n, T.RISE / 2)))) is None  # below the threshold
    short = rising_val(n - T.RISING_EPOCHS + 1, n, 0.4)  # best RISING_EPOCHS - 1 epochs before the end
    assert overfitting(trace_of(events(falling(n), short))) is None
    flat_train = [1.0] * n  # the training loss did not fall: not over-fitting
    assert overfitting(trace_of(events(flat_train, rising_val(8, n, 0.4)))) is None


def test_a_noisy_validation_curve_is_not_read_as_a_rise():
    n = 16
    noisy = [0.5 + (0.3 if e % 2 else 0.0) for e in range(n)]  # jumps 0.3 each epoch
    noisy[-1] = 0.5 + 0.3 + 0.05  # the last 70 % above the best, but within twice the noise
    assert overfitting(trace_of(events(falling(n), noisy))) is None


def test_overfitting_caught_by_early_stopping_is_a_note_and_its_absence_a_warning():
    n = 16
    val = rising_val(8, n, 0.4)
    caught = overfitting(trace_of(events(falling(n), val, status="early_stopped")))
    assert caught.severity == "note" and "kept weights are those of epoch 8" in caught.evidence
    assert early_stopping_absent(trace_of(events(falling(n), val, patience=None))).severity == "warning"
    assert early_stopping_absent(trace_of(events(falling(n), val))) is None  # patience 5: it was on



def test_a_classifier_whose_accuracy_held_while_its_loss_rose_gets_label_smoothing():
    """Over-confident mistakes (the loss up, the accuracy not down) are softened; samples no longer got
    right (the accuracy down too, past its noise) are regularised, as is a run with label smoothing on."""
    n, val = 16, rising_val(8, n=16, rise=0.4)
    held = [0.5 + 0.02 * e for e in range(n)]  # still climbing after epoch 8
    fell = [0.5 + 0.05 * e for e in range(8)] + [0.85 - 0.03 * (e + 1) for e in range(8)]  # 0.85 down to 0.61
    plain = make_config({"tricks.dropout.enabled": False, "tricks.early_stopping.enabled": False,
                         "tricks.label_smoothing.enabled": False})

    def first(accuracy, config=plain):
        return diagnose(trace_of(events(falling(n), val, accuracy=accuracy, patience=None), config)).findings[0]

    soft = first(held)
    assert soft.name == "overfitting" and "has not fallen with it (0.64 at epoch 8, 0.8 now)" in soft.evidence
    assert "surer of its mistakes" in soft.why
    assert soft.prescription.overrides == {"tricks.label_smoothing.enabled": True}
    assert soft.prescription.lab is None and soft.prescription.lab_says == "no lab of this tool measured this"
    assert "softer predictions" in soft.prescription.moves
    lost = first(fell)
    assert "has not fallen" not in lost.evidence and lost.why.endswith("worse on data it has not seen")
    assert lost.prescription.overrides == {"tricks.early_stopping.enabled": True, "tricks.dropout.enabled": True}
    assert lost.prescription.lab == "overfitting"
    smoothed = first(held, make_config({**{k: False for k in ("tricks.dropout.enabled",
                                                               "tricks.early_stopping.enabled")},
                                        "tricks.label_smoothing.enabled": True}))
    assert smoothed.prescription.overrides == {"tricks.early_stopping.enabled": True, "tricks.dropout.enabled": True}
    assert first(None).prescription.overrides == lost.prescription.overrides  # no accuracy: no such reading

# -- plateau, and the LR too low --------------------------------------------------------------------


def test_a_plateau_is_flat_and_high_or_behind_the_baselines():
    n = 12
    stuck = [2.3 - 1.0 * min(e, 3) / 3 for e in range(n)]  # 2.3 down to 1.3, then flat: 57 % of the start
    found = plateau(trace_of(events(stuck, stuck)))
    assert found and found.epoch == n - 4 + 1 and "57% of the loss it started from" in found.evidence
    low = [2.3 - 2.2 * min(e, 3) / 3 for e in range(n)]  # flat at 0.1: 4 % of the start, fitted
    assert plateau(trace_of(events(low, low))) is None
    still = falling(n)  # not flat
    assert plateau(trace_of(events(still, still))) is None
    baselines = {"bigram": {"val_bits_per_char": 3.3}, "unigram": {"val_bits_per_char": 4.4}}
    behind = events(low, low, baselines=baselines)
    for e in behind:
        if isinstance(e, EpochEnded):
            e.metrics["val_bits_per_char"] = 3.4  # never beats the bigram
    found = plateau(trace_of(behind))
    assert found and "never beat the bigram baseline's 3.3" in found.evidence and found.confidence == "high"


def test_a_plateau_at_the_label_smoothing_floor_is_no_plateau():
    config = make_config({"tricks.label_smoothing.enabled": True, "tricks.label_smoothing.epsilon": 0.1})
    n = 12  # the floor: 0.50, the entropy of targets smoothed by 0.1 over 10 classes
    flat = [2.3 - (2.3 - 0.9) * min(e, 3) / 3 for e in range(n)]  # flat at 0.9: 39 % of the start, 22 % above the floor
    assert plateau(trace_of(events(flat, flat, tricks=["label_smoothing"]), config)) is None
    assert plateau(trace_of(events(flat, flat), make_config())) is not None  # no smoothing: 39 % of the way


@pytest.mark.parametrize("model, widened", [
    ({"model.cnn.channels": [2], "model.cnn.fc_hidden": 0}, "--set model.cnn.channels=[8]"),
    ({"model.cnn.channels": [4, 8], "model.cnn.fc_hidden": 16},
     "--set model.cnn.channels=[16,32] --set model.cnn.fc_hidden=64"),
    ({"model.kind": "lstm", "model.lstm.hidden_size": 8}, "--set model.lstm.hidden_size=32"),
    ({"model.kind": "resnet", "model.resnet.widths": [4, 8], "model.resnet.depth": 10},
     "--set model.resnet.widths=[16,32]"),
    ({"model.kind": "transformer", "model.transformer.d_model": 16, "tricks.batchnorm.enabled": False},
     "--set model.transformer.d_model=64"),
])
def test_a_plateau_on_a_model_smaller_than_its_data_is_prescribed_a_wider_model(model, widened):
    n, config = 12, make_config({**model, "train.lr": 0.01})
    stuck = [2.3 - 1.0 * min(e, 3) / 3 for e in range(n)]
    small = events(stuck, stuck, parameters=424, train_size=1000)
    [found] = [f for f in diagnose(trace_of(small, config)).findings if f.name == "plateau"]
    assert found.evidence.endswith("; the model has 424 parameters for 1,000 training samples")
    assert found.prescription.typed == widened and found.prescription.lab is None
    assert found.prescription.moves.startswith("a lower training loss")
    language = events(stuck, stuck, parameters=424, train_size=10, tokens_per_sample=64)  # each token a target
    [found] = [f for f in diagnose(trace_of(language, config)).findings if f.name == "plateau"]
    assert found.evidence.endswith("424 parameters for 640 training tokens") and found.prescription.typed == widened
    roomy = events(stuck, stuck, parameters=1000, train_size=1000)  # one parameter a sample: not small
    [found] = [f for f in diagnose(trace_of(roomy, config)).findings if f.name == "plateau"]
    assert "parameters for" not in found.evidence and found.prescription.typed == "--lr 0.03"


def test_lr_too_low_is_a_loss_still_falling_at_its_pace_when_the_run_ends():
    n = 12
    steady = [2.3 * 0.97 ** e for e in range(n)]  # -3 % an epoch to the end: -9 % over the tail
    found = lr_too_low(trace_of(events(steady, steady)))
    assert found and found.severity == "note" and "-9% over the last 4 epochs, at 90% of the pace" in found.evidence
    levelling = [0.2 + 2.1 * 0.5 ** e for e in range(n)]  # the pace falls by half each epoch
    assert lr_too_low(trace_of(events(levelling, levelling))) is None
    tiny = [2.3 * 0.99 ** e for e in range(n)]  # -3 % over the tail, but the weights barely moved
    assert lr_too_low(trace_of(events(tiny, tiny))) is None
    found = lr_too_low(trace_of(events(tiny, tiny, weight_norms=[10 + 1e-4 * e for e in range(n)])))
    assert found and found.severity == "warning" and "norm moved 0.00% an epoch" in found.evidence
    assert lr_too_low(trace_of(events(steady, steady, status="early_stopped"))) is None
    # the training loss falls at its pace, the validation loss bounces around 1.4 and sets its best just inside the
    # tail, by less than its own noise: the model is fitting its samples, not learning slowly
    bouncing = [1.45, 1.38, 1.50, 1.36, 1.47, 1.40, 1.52, 1.39, 1.34, 1.46, 1.41, 1.49]
    assert min(range(n), key=bouncing.__getitem__) == n - 4  # the best, in the tail
    assert lr_too_low(trace_of(events(steady, bouncing))) is None
    clearly = bouncing[:8] + [1.20, 1.10, 1.00, 0.95]  # progress in the tail, far beyond the noise: cut short
    assert lr_too_low(trace_of(events(steady, clearly))) is not None


def test_a_schedule_at_its_floor_while_still_improving_ended_too_early():
    n = 10
    down = [0.01 * 0.5 * (1 + math.cos(math.pi * s / (n * STEPS - 1))) for s in range(n * STEPS)]
    loss = falling(n)
    found = schedule_too_short(trace_of(events(loss, loss, lrs=down, schedule="cosine")))
    assert found and found.epoch == n and "while the validation loss still improved" in found.evidence
    assert lr_too_low(trace_of(events(loss, loss, lrs=down, schedule="cosine"))) is None  # said by the schedule's
    early_best = rising_val(3, n, 0.05)
    assert schedule_too_short(trace_of(events(loss, early_best, lrs=down, schedule="cosine"))) is None
    assert schedule_too_short(trace_of(events(loss, loss, schedule="cosine"))) is None  # LR never came down


def test_a_constant_lr_whose_validation_loss_stalled_for_half_the_run():
    n = 12
    stalled = [1.0 - 0.1 * min(e, 4) + (0.01 if e > 4 and e % 2 else 0.0) for e in range(n)]  # best at epoch 5
    found = schedule_absent(trace_of(events(falling(n), stalled)))
    assert found and found.epoch == 5
    assert schedule_absent(trace_of(events(falling(n), stalled, schedule="cosine"))) is None
    assert schedule_absent(trace_of(events(falling(n), falling(n)))) is None  # a new best to the end
    bouncing = [1.0 - 0.05 * e + (0.3 if e % 2 and e > n // 2 else 0.0) for e in range(n)]  # best at the end
    found = schedule_absent(trace_of(events(falling(n), bouncing)))
    assert found and "jumped back up by" in found.evidence


def es_states(waits: list[int], patience: int) -> list[EarlyStoppingState]:
    return [EarlyStoppingState(e + 1, True, "val_loss", 1.0, 1.0, 1, wait, patience, wait == 0)
            for e, wait in enumerate(waits)]


def test_early_stopping_too_eager_comes_within_an_epoch_of_stopping_and_recovers_twice():
    waits = [0, 1, 2, 0, 1, 2, 0, 1, 2, 3]  # patience 3: at 2 twice, then improved; stopped at 3
    n = len(waits)
    found = early_stopping_eager(trace_of(events(falling(n), falling(n), status="early_stopped",
                                                 extra=es_states(waits, 3))))
    assert found and "improved 2 times" in found.evidence and found.epoch == n
    once = [0, 1, 2, 0, 1, 1, 0, 1, 2, 3]
    assert early_stopping_eager(trace_of(events(falling(n), falling(n), status="early_stopped",
                                                extra=es_states(once, 3)))) is None
    assert early_stopping_eager(trace_of(events(falling(n), falling(n), extra=es_states(waits, 3)))) is None
    # once, but stopped at a quarter of its epochs with the training loss still falling fast
    short = [0, 0, 0, 0, 0, 1, 0, 1, 2]
    stopped = dict(status="early_stopped", extra=es_states(short, 2), epochs=40)
    found = early_stopping_eager(trace_of(events(falling(9), falling(9), **stopped)))
    assert found and "improved once" in found.evidence and "stopped at epoch 9 of 40" in found.evidence
    assert early_stopping_eager(trace_of(events([1.0] * 9, falling(9), **stopped))) is None  # it had stopped learning
    assert early_stopping_eager(trace_of(events(falling(9), falling(9), **{**stopped, "epochs": 12}))) is None


# -- the whole examination ----------------------------------------------------------------------------


def test_a_healthy_run_has_nothing_and_says_what_it_checked():
    n = 12
    val = [0.3 + 2.0 * 0.6 ** e for e in range(n)]
    diagnosis = diagnose(trace_of(events(val, val, epochs=n, schedule="cosine")))
    assert diagnosis.findings == [] and len(diagnosis.checked) == 14  # 16 less the 2 with nothing to read:
    assert diagnosis.unchecked.startswith("dead ReLUs, saturated activations: no activation readings")
    assert diagnosis.headline() == "nothing wrong found in 12 epochs (14 checks)"


def test_a_cause_comes_before_what_it_explains():
    n = 12
    steady = [2.3 * 0.99 ** e for e in range(n)]
    said = RunWarning("the model did not learn: its best validation loss 2.1 never got below 90 % of the entropy")
    run = events(steady, steady, weight_norms=[10 + 1e-4 * e for e in range(n)], extra=[said])
    names = [f.name for f in diagnose(trace_of(run)).findings]
    assert names[:2] == ["lr_too_low", "collapse"] and "plateau" not in names
    [first, second] = diagnose(trace_of(run)).findings[:2]
    assert first.prescription.overrides == second.prescription.overrides == {"train.lr": 0.1}  # 10x the run's 0.01


def test_a_live_run_and_a_resumed_run_are_read_as_one():
    n = 16
    run = events(falling(n), rising_val(8, n, 0.4), status=None)
    live = trace_of(run)
    assert live.status == "running" and overfitting(live) is not None
    resumed = run[:20] + [started(epochs=99, start_epoch=9)] + run[20:]
    assert trace_of(resumed).planned_epochs == n  # the first start holds the plan


@pytest.mark.parametrize("changes, names", [
    ({"model.kind": "lstm", "tricks.grad_clip.enabled": False}, ["rnn_without_clipping", "batchnorm_in_rnn"]),
    ({"model.kind": "lstm", "tricks.batchnorm.enabled": False, "model.lstm.num_layers": 1,
      "model.lstm.inner_dropout": 0.3}, ["inner_dropout_noop"]),
    ({"tricks.batchnorm.enabled": False, "tricks.lr_schedule.enabled": False, "train.epochs": 30},
     ["cnn_without_batchnorm", "long_run_no_schedule"]),
    ({"tricks.early_stopping.enabled": False}, ["no_early_stopping"]),
    ({"tricks.lr_schedule.enabled": False, "train.epochs": 29}, []),
    ({}, []),
])
def test_the_lessons_rules_on_settings(changes, names):
    found = settings_findings(make_config(changes))
    assert [f.name for f in found] == names
    assert all(f.severity == "note" and f.source == "settings" for f in found)
