"""The doctor's checks on a run's steps, on hand-made event streams (no training): an LR too high,
exploding and vanishing gradients, clipping on most steps, collapse, GradScaler overflow and weights
that grow, each on one side of its threshold and not on the other, and what each prescribes."""

from __future__ import annotations

from doctor_runs import STEPS, events, falling
from helpers import make_config

from tui_trainer.doctor import diagnose, trace_of
from tui_trainer.doctor.stability import (
    clipping_every_step,
    collapse,
    exploding_gradients,
    lr_too_high,
    scaler_overflow,
    vanishing_gradients,
    weights_growing,
)
from tui_trainer.engine.events import RunWarning, StepsSkipped

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
