"""The LRs the engine actually used, step by step, against torch's own schedulers
stepped at the documented cadence (or the closed form where warm-up is involved)."""

import math

import pytest
import torch
from helpers import make_config
from torch.optim import lr_scheduler

from tui_trainer.engine.events import EpochEnded, RunStarted, StepStats
from tui_trainer.engine.trainer import Trainer

LR = 0.01
EPOCHS = 4
BATCH = 128  # 512 training samples -> 4 steps per epoch
SPE = 4


def run_lrs(small_data, started=None, **schedule):
    """The LR of every step; ``started``: a list that gets the run's RunStarted."""
    overrides = {"train.epochs": EPOCHS, "train.batch_size": BATCH, "train.lr": LR,
                 "tricks.early_stopping.enabled": False}
    overrides.update({f"tricks.lr_schedule.{k}": v for k, v in schedule.items()})
    trainer = Trainer(make_config(overrides), data=small_data, keep_events=True)
    result = trainer.run()
    if started is not None:
        started += [e for e in result.events if isinstance(e, RunStarted)]
    lrs = [lr for e in result.events if isinstance(e, StepStats) for lr in e.lrs]
    val = [e.val_loss for e in result.events if isinstance(e, EpochEnded)]
    assert len(lrs) == EPOCHS * SPE
    return lrs, val


def torch_lrs(make, per_batch: bool, metrics=None):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = make(optimizer)
    out = []
    for epoch in range(EPOCHS):
        for _ in range(SPE):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if per_batch:
                scheduler.step()
        if not per_batch:
            scheduler.step(metrics[epoch]) if metrics is not None else scheduler.step()
    return out


def test_off_is_constant(small_data):
    lrs, _ = run_lrs(small_data, enabled=False)
    assert lrs == [LR] * (EPOCHS * SPE)


def test_step_is_per_epoch(small_data):
    lrs, _ = run_lrs(small_data, kind="step", step_size=2, gamma=0.5)
    assert lrs == pytest.approx(torch_lrs(lambda o: lr_scheduler.StepLR(o, 2, 0.5), per_batch=False), rel=1e-12)
    assert lrs[0] == lrs[SPE * 2 - 1] == LR and lrs[SPE * 2] == LR * 0.5


def test_multistep_drops_at_its_fractions_of_the_run(small_data):
    started = []
    lrs, _ = run_lrs(small_data, started, kind="multistep", milestones=[0.5, 0.75], gamma=0.1)  # after epochs 2 and 3
    expected = torch_lrs(lambda o: lr_scheduler.MultiStepLR(o, [2, 3], 0.1), per_batch=False)
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[SPE * 2 - 1] == LR
    assert lrs[SPE * 2] == pytest.approx(LR * 0.1)
    assert lrs[SPE * 3] == pytest.approx(LR * 0.01)
    assert [tuple(m) for m in started[0].lr_marks] == [(2 * SPE, "LR ×0.1"), (3 * SPE, "LR ×0.1")]  # the markers


def test_exponential_is_per_epoch(small_data):
    lrs, _ = run_lrs(small_data, kind="exponential", gamma=0.7)
    assert lrs == pytest.approx(torch_lrs(lambda o: lr_scheduler.ExponentialLR(o, 0.7), per_batch=False), rel=1e-12)


def test_cosine_is_per_batch(small_data):
    lrs, _ = run_lrs(small_data, kind="cosine", min_lr=1e-4)
    expected = torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, EPOCHS * SPE, eta_min=1e-4), per_batch=True)
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert len(set(lrs)) == len(lrs)  # it moves every batch


def test_onecycle_is_per_batch(small_data):
    lrs, _ = run_lrs(small_data, kind="onecycle", pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    expected = torch_lrs(
        lambda o: lr_scheduler.OneCycleLR(o, LR, total_steps=EPOCHS * SPE, pct_start=0.25, div_factor=10.0,
                                          final_div_factor=100.0),
        per_batch=True,
    )
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert max(lrs) == pytest.approx(LR)


def test_plateau_is_fed_the_validation_loss(small_data):
    lrs, val = run_lrs(small_data, kind="plateau", patience=0, factor=0.5)
    expected = torch_lrs(lambda o: lr_scheduler.ReduceLROnPlateau(o, "min", factor=0.5, patience=0), per_batch=False,
                         metrics=val)
    assert lrs == pytest.approx(expected, rel=1e-12)


def _warm(i, warmup, start):
    return start + (1 - start) * min(i, warmup) / warmup


def test_cosine_with_warmup_matches_closed_form(small_data):
    lrs, _ = run_lrs(small_data, kind="cosine", warmup_epochs=1.5, warmup_start_factor=0.1)
    w, total = 6, EPOCHS * SPE  # 1.5 epochs of 4 steps
    expected = [LR * _warm(i, w, 0.1) if i < w else LR * (1 + math.cos(math.pi * (i - w) / (total - w))) / 2
                for i in range(total)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_step_with_warmup_chains_per_batch_warmup_and_per_epoch_decay(small_data):
    started = []
    lrs, _ = run_lrs(small_data, started, kind="step", step_size=1, gamma=0.5, warmup_epochs=2.0,
                     warmup_start_factor=0.2)
    w = 8
    # the turns the marker row and runs plot show: the warm-up's end, and each epoch's drop
    assert started[0].lr_marks == [[4, "LR ×0.5"], [8, "LR ×0.5"], [8, "warm-up ends"], [12, "LR ×0.5"]]
    expected = [LR * _warm(i, w, 0.2) * 0.5 ** (i // SPE) for i in range(EPOCHS * SPE)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    # and torch's own LinearLR (per batch) chained with StepLR (per epoch) gives the same
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    warm = lr_scheduler.LinearLR(optimizer, 0.2, 1.0, total_iters=w)
    step = lr_scheduler.StepLR(optimizer, 1, 0.5)
    chained = []
    for epoch in range(EPOCHS):
        for _ in range(SPE):
            chained.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if warm.last_epoch < w:
                warm.step()
        step.step()
    assert lrs == pytest.approx(chained, rel=1e-9)


def test_noam_rises_over_its_warm_up_then_falls_as_one_over_sqrt_step(small_data):
    lrs, _ = run_lrs(small_data, kind="noam", warmup_steps=5)
    expected = [LR * min(s / 5, math.sqrt(5 / s)) for s in range(1, EPOCHS * SPE + 1)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert max(lrs) == pytest.approx(LR) and lrs.index(max(lrs)) == 4
    by_epochs, _ = run_lrs(small_data, kind="noam", warmup_epochs=1.25)  # 1.25 epochs of 4 steps: the same 5 steps
    assert by_epochs == pytest.approx(expected, rel=1e-9)


def test_warmup_steps_count_optimizer_steps(small_data):
    lrs, _ = run_lrs(small_data, kind="cosine", warmup_steps=6, warmup_epochs=3.0, warmup_start_factor=0.1)
    w, total = 6, EPOCHS * SPE  # warmup_steps wins over warmup_epochs
    expected = [LR * _warm(i, w, 0.1) if i < w else LR * (1 + math.cos(math.pi * (i - w) / (total - w))) / 2
                for i in range(total)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)
