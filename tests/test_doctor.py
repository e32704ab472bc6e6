"""The doctor's checks on hand-made event streams (no training): each finding on one side of its
threshold and not on the other, the order findings come in, and the lesson's rules on settings."""

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
from tui_trainer.doctor.stability import (
    clipping_every_step,
    collapse,
    exploding_gradients,
    lr_too_high,
    scaler_overflow,
    vanishing_gradients,
    weights_growing,
)
from tui_trainer.engine.events import EarlyStoppingState, EpochEnded, RunWarning, StepsSkipped

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


# -- the steps: LR too high, gradients ----------------------------------------------------------------


def test_lr_too_high_from_divergence_non_finite_steps_spikes_and_oscillation():
    n = 8
    assert lr_too_high(trace_of(events(falling(n), falling(n), status="diverged"))).confidence == "high"
    skipped = StepsSkipped(3, [61, 62], "nonfinite", 2)
    assert "2 steps skipped" in lr_too_high(trace_of(events(falling(n), falling(n), extra=[skipped]))).evidence
    losses = [1.0] * (n * STEPS)
    for s in (70, 90, 110, 130):
        losses[s] = 4.0  # 4x the median, 3.0 above it: 4 spikes, 2.5 % of the steps
    found = lr_too_high(trace_of(events([1.0] * n, [1.0] * n, losses=losses)))
    assert found and found.step == 71 and "4 steps (2.5%)" in found.evidence
    small = [2.3 if s < 10 else 0.001 if loss == 1.0 else 0.004 for s, loss in enumerate(losses)]
    assert lr_too_high(trace_of(events([0.001] * n, [0.001] * n, losses=small))) is None  # fitted: moved by nothing
    one = [4.0 if s == 70 else 1.0 for s in range(n * STEPS)]
    assert lr_too_high(trace_of(events([1.0] * n, [1.0] * n, losses=one))) is None  # fewer than SPIKES_MIN
    thrown = [2.3, 48.6, 4.0, 2.3, 45.7] + [2.3] * (n * STEPS - 5)  # the first steps thrown far off: Adam at 0.5
    assert "2 steps" in lr_too_high(trace_of(events([2.3] * n, [2.3] * n, losses=thrown))).evidence
    zigzag = [1.0 + (0.2 if e % 2 else 0.0) - 0.01 * e for e in range(n)]  # up on half the epochs
    assert "went up on 4 of 7" in lr_too_high(trace_of(events(zigzag, zigzag))).evidence
    assert lr_too_high(trace_of(events(falling(n), falling(n)))) is None


def test_exploding_gradients_against_the_steps_before_and_the_first_steps():
    n = 8
    norms = [1.0] * (n * STEPS)
    for s in (60, 80, 100, 120):
        norms[s] = 50.0
    found = exploding_gradients(trace_of(events(falling(n), falling(n), norms=norms, clip_threshold=None)))
    assert found and found.severity == "warning" and "clipping is off" in found.evidence and found.step == 61
    assert exploding_gradients(trace_of(events(falling(n), falling(n), norms=norms))).severity == "note"  # clipped
    fewer = [50.0 if s in (60, 80) else 1.0 for s in range(n * STEPS)]
    assert exploding_gradients(trace_of(events(falling(n), falling(n), norms=fewer))) is None
    climbing = [3.0 * 1.2 ** (s / 1.5) for s in range(48)]  # an RNN without clipping: up 280x in 48 steps
    found = exploding_gradients(trace_of(events([1.0] * 6, [1.0] * 6, losses=[1.0] * 48, norms=climbing,
                                                clip_threshold=None)))
    assert found and found.severity == "warning"
    fitting = [0.2 * 1.05 ** (s / 4) for s in range(n * STEPS)]  # a CNN without BatchNorm: 0.2 up to 2, smoothly
    assert exploding_gradients(trace_of(events(falling(n), falling(n), norms=fitting, clip_threshold=None))) is None
    # gradients shrinking a hundredfold as the run fits: late jumps of 20x stay below the first steps' size
    shrinking = [1.0 if s < 50 else 0.001 for s in range(n * STEPS)]
    for s in (60, 80, 100, 120):
        shrinking[s] = 0.02
    assert exploding_gradients(trace_of(events(falling(n), falling(n), norms=shrinking))) is None
    # a run shorter than the window (48 steps of 50): judged against the median of all its steps
    short = [3.0] * 40 + [3.0, 80.0, 3.0, 120.0, 3.0, 900.0, 3.0, 3.0]  # 27x, 40x and 300x; under the 100x climb twice
    found = exploding_gradients(trace_of(events([1.0] * 6, [1.0] * 6, losses=[1.0] * 48, norms=short,
                                                clip_threshold=None)))
    assert found and found.step == 42 and "worst, step 46: 900 against 3" in found.evidence
    short[43] = 50.0  # two of over 20x: too few
    assert exploding_gradients(trace_of(events([1.0] * 6, [1.0] * 6, losses=[1.0] * 48, norms=short,
                                                clip_threshold=None))) is None


def test_exploding_gradients_under_a_loss_that_spikes_too_get_clipping_and_a_lower_lr():
    n = 8
    norms, losses = [1.0] * (n * STEPS), [1.0] * (n * STEPS)
    for s in (60, 80, 100, 120):
        norms[s], losses[s] = 50.0, 4.0
    unclipped = make_config({"tricks.grad_clip.enabled": False, "train.lr": 0.3})
    both = diagnose(trace_of(events([1.0] * n, [1.0] * n, losses=losses, norms=norms, clip_threshold=None),
                             unclipped)).findings
    assert [f.name for f in both[:2]] == ["exploding_gradients", "lr_too_high"]  # the cause first
    clip = {"tricks.grad_clip.enabled": True, "tricks.grad_clip.threshold": 1.0}
    assert both[0].prescription.overrides == both[1].prescription.overrides == {**clip, "train.lr": 0.03}
    calm = diagnose(trace_of(events(falling(n), falling(n), norms=norms, clip_threshold=None), unclipped)).findings
    assert calm[0].name == "exploding_gradients" and calm[0].prescription.overrides == clip  # the loss did not spike

def test_clipping_on_most_steps_is_judged_for_sgd_only():
    n, sgd = 6, make_config({"train.optimizer": "sgd"})
    most = events(falling(n), falling(n), clipped=[STEPS] * n)
    assert "cut 100% of the steps" in clipping_every_step(trace_of(most, sgd)).evidence
    assert clipping_every_step(trace_of(most, make_config())) is None  # Adam: scale-free steps
    some = events(falling(n), falling(n), clipped=[STEPS // 4] * n)
    assert clipping_every_step(trace_of(some, sgd)) is None


def test_vanishing_gradients_fall_a_thousandfold_while_the_loss_stays_high():
    n = 6
    norms = [1.0] * STEPS + [1e-5] * (n - 1) * STEPS
    stuck = [2.3] * n
    found = vanishing_gradients(trace_of(events(stuck, stuck, norms=norms)))
    assert found and "from 1 in epoch 1 to 1e-05" in found.evidence
    fitted = [2.3] + [0.05] * (n - 1)
    assert vanishing_gradients(trace_of(events(fitted, fitted, norms=norms))) is None
    assert vanishing_gradients(trace_of(events(stuck, stuck, norms=[1.0] * STEPS + [0.01] * (n - 1) * STEPS))) is None


def test_a_deep_plain_net_whose_loss_never_moved_has_vanishing_gradients():
    plain = [f"features.{2 * i}  Conv1d(16, 16, kernel_size=(5,))  1,296" for i in range(10)]
    stuck = [2.305, 2.304, 2.302, 2.301]
    said = RunWarning("the model did not learn: its best validation loss 2.3 never got below 90 %")
    diagnosis = diagnose(trace_of(events(stuck, stuck, model=plain, extra=[said])))
    first, second = diagnosis.findings[:2]
    assert first.name == "vanishing_gradients" and "10 weight layers" in first.evidence
    assert second.name == "collapse" and second.prescription.overrides == {"tricks.batchnorm.enabled": True}
    normed = [*plain, "features.1  BatchNorm1d(16)"]
    assert vanishing_gradients(trace_of(events(stuck, stuck, model=normed))) is None
    assert vanishing_gradients(trace_of(events(stuck, stuck, model=plain[:7]))) is None  # 7 layers: not deep
    learnt = [2.3, 1.5, 1.0, 0.8]
    assert vanishing_gradients(trace_of(events(learnt, learnt, model=plain))) is None


def test_collapse_from_the_runs_own_warning_or_one_predicted_class():
    n = 8
    said = RunWarning("the model did not learn: its best validation accuracy 0.100 is chance level; try a lower "
                      "train.lr, or `tui-trainer lr-find` to choose one")
    found = collapse(trace_of(events([2.3] * n, [2.3] * n, extra=[said])))
    assert found.confidence == "high" and "try" not in found.evidence  # the prescription says what to try
    one = {"status": "completed",
           "confusion": {"classes": ["a", "b", "c"], "counts": [[9, 0, 0], [9, 1, 0], [9, 0, 0]]}}
    assert "96% of the test samples were predicted as class 'a'" in collapse(
        trace_of(events(falling(n), falling(n), summary=one))).evidence
    mixed = {"status": "completed",
             "confusion": {"classes": ["a", "b", "c"], "counts": [[9, 0, 0], [0, 9, 0], [9, 0, 9]]}}
    assert collapse(trace_of(events(falling(n), falling(n), summary=mixed))) is None


def test_scaler_overflow_counts_the_skips_after_its_first_steps():
    n = 10  # 200 steps: 150 counted after the first 50
    many = StepsSkipped(5, list(range(100, 110)), "grad_scaler", 10)
    assert "skipped 10 steps" in scaler_overflow(trace_of(events(falling(n), falling(n), extra=[many]))).evidence
    start = StepsSkipped(0, list(range(1, 20)), "grad_scaler", 19)  # finding its scale: by design
    assert scaler_overflow(trace_of(events(falling(n), falling(n), extra=[start]))) is None


def test_weights_growing_without_decay():
    n = 8
    growing = [10 * 1.2 ** e for e in range(n)]  # 3.6x, up every epoch
    found = weights_growing(trace_of(events(falling(n), falling(n), weight_norms=growing, tricks=[])))
    assert found and "3.6x" in found.evidence
    assert weights_growing(trace_of(events(falling(n), falling(n), weight_norms=growing))) is None  # decay on
    level = [10 * 1.05 ** e for e in range(n)]  # 1.4x
    assert weights_growing(trace_of(events(falling(n), falling(n), weight_norms=level, tricks=[]))) is None


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
