"""The lesson's SimpleCNN and OptimizedCNN (tests/lesson.py, as the lesson writes them) against the
models our presets build: the same layers in the same order, the same parameter counts, and
(with the lesson's weights copied in) the same outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.lesson import OptimizedCNN, SimpleCNN
from tui_trainer.config.presets import load_preset as _load
from tui_trainer.data import DataSpec
from tui_trainer.models import build_model, count_parameters


def load_preset(name):
    return _load(name)[0]


CIFAR = DataSpec("cifar10", (3, 32, 32), 10)


def leaves(model: nn.Module) -> list[str]:
    return [type(m).__name__ for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Flatten)]


def with_parameters(model: nn.Module) -> list[tuple[str, list[tuple[int, ...]]]]:
    return [(type(m).__name__, [tuple(p.shape) for p in m.parameters(recurse=False)])
            for m in model.modules() if not list(m.children()) and list(m.parameters(recurse=False))]


@pytest.mark.parametrize("preset, lesson", [("cifar10-simple-cnn", SimpleCNN), ("cifar10-optimized-cnn", OptimizedCNN)])
def test_the_lesson_presets_build_the_lesson_models(preset, lesson):
    ours, theirs = build_model(CIFAR, load_preset(preset)), lesson()
    assert count_parameters(ours) == count_parameters(theirs)
    assert with_parameters(ours) == with_parameters(theirs)
    if lesson is OptimizedCNN:
        assert leaves(ours) == leaves(theirs)
        dropout = next(m for m in ours.modules() if isinstance(m, nn.Dropout))
        assert dropout.p == 0.5
    else:  # the lesson calls torch.relu in forward(); we have a ReLU module in its place
        assert leaves(ours) == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Linear"]
    mine = [p for p in ours.state_dict().values()]
    for target, source in zip(mine, theirs.state_dict().values(), strict=True):
        target.copy_(source)
    ours.eval(), theirs.eval()
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(ours(x), theirs(x))


def test_the_lesson_recipe_is_in_the_presets():
    for name in ("cifar10-simple-cnn", "cifar10-optimized-cnn", "digits-optimized-cnn"):
        c = load_preset(name)
        assert (c.train.optimizer, c.train.lr, c.train.epochs) == ("adam", 0.01, 50)
        assert (c.tricks.weight_decay.mode, c.tricks.weight_decay.value,
                c.tricks.weight_decay.exclude_bias_and_norm) == ("coupled", 1e-4, False)
        assert (c.tricks.lr_schedule.kind, c.tricks.lr_schedule.min_lr,
                c.tricks.lr_schedule.warmup_epochs) == ("cosine_epoch", 1e-5, 0.0)
        assert (c.tricks.grad_clip.mode, c.tricks.grad_clip.threshold) == ("norm", 1.0)
        assert (c.tricks.early_stopping.patience, c.tricks.early_stopping.restore_best) == (5, True)


def test_the_once_per_epoch_cosine_matches_torch():
    from tui_trainer.engine.schedule import LRSchedule

    config = load_preset("cifar10-optimized-cnn").tricks.lr_schedule
    ours = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    theirs = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    schedule = LRSchedule(ours, config, 0.01, 50, steps_per_epoch=7)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=50, eta_min=1e-5)
    for _ in range(50):
        for _ in range(7):
            schedule.after_batch()
        schedule.after_epoch({"val_loss": 1.0})
        reference.step()
        assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"])
