"""The tenth trick, weight EMA: the average follows its formula (with and without the warm-up of
its decay), and validation, early stopping, best.pt and the test score use it, not the weights
the optimizer moves; its state is in last.pt (resume: tests/test_resume.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import make_config
from torch import nn

from tui_trainer.config.tricks import EmaConfig
from tui_trainer.engine.checkpoint import load_checkpoint
from tui_trainer.engine.events import CheckpointSaved, EpochEnded
from tui_trainer.engine.parts import Ema
from tui_trainer.engine.task import evaluate
from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder


def _set(model: nn.Linear, value: float) -> nn.Linear:
    with torch.no_grad():
        model.weight.fill_(value)
        model.bias.fill_(-value)
    return model


@pytest.mark.parametrize("warmup", [False, True])
def test_the_average_follows_its_formula(warmup):
    model = _set(nn.Linear(2, 1), 0.0)
    ema = Ema(model, EmaConfig(enabled=True, decay=0.9, warmup=warmup))
    expected = None
    for n, value in enumerate([1.0, 2.0, 4.0, 8.0]):
        ema.update_parameters(_set(model, value))
        if expected is None:
            expected = value  # the first update copies the weights
        else:
            decay = min(0.9, (1 + n) / (10 + n)) if warmup else 0.9
            expected = decay * expected + (1 - decay) * value
        assert ema.module.weight.detach() == pytest.approx(torch.full((1, 2), expected), rel=1e-6)
        assert ema.module.bias.item() == pytest.approx(-expected, rel=1e-6)
    assert ema.updates == int(ema.n_averaged) == 4
    again = Ema(_set(nn.Linear(2, 1), 0.0), EmaConfig(enabled=True, decay=0.9, warmup=warmup))
    again.load_state_dict(ema.state_dict())  # a resume: the warm-up goes on from the same count
    assert again.updates == 4


def test_validation_best_pt_and_the_test_score_use_the_average(small_data, tmp_path):
    config = make_config({"train.epochs": 3, "train.batch_size": 64, "tricks.ema.enabled": True,
                          "tricks.ema.decay": 0.95, "tricks.early_stopping.enabled": False})
    seen, best = [], {}

    # the weights at each epoch's end, the average and the model's own, scored as validation scores them
    def sink(event):
        parts, setup = trainer.parts, trainer.setup
        if isinstance(event, EpochEnded):
            score = {name: evaluate(model, setup.data.val, parts.task, setup.precision, setup.device, "val",
                                    parts.inputs)["val_loss"]
                     for name, model in (("average", parts.ema.module), ("model", parts.model))}
            seen.append((event.val_loss, score))
        elif isinstance(event, CheckpointSaved) and event.kind == "best":
            best[event.epoch] = {k: v.clone() for k, v in parts.ema.module.state_dict().items()}

    trainer = Trainer(config, data=small_data, run_folder=RunFolder.create(tmp_path, "ema"), sinks=[sink])
    result = trainer.run()
    assert len(seen) == 3
    for val_loss, score in seen:
        assert val_loss == score["average"] != score["model"]
    folder = Path(result.run_dir)
    saved = load_checkpoint(folder / "best.pt")
    assert all(torch.equal(saved["model"][k], v) for k, v in best[saved["epoch"]].items())
    last = load_checkpoint(folder / "last.pt")
    assert int(last["ema"]["n_averaged"]) == result.summary["steps"] and "ema" in result.summary["tricks"]
    assert result.model is trainer.parts.ema.module  # the weights kept, and tested
    test = evaluate(result.model, small_data.test, trainer.parts.task, trainer.setup.precision, trainer.setup.device,
                    "test", trainer.parts.inputs)
    assert result.summary["test_loss"] == test["test_loss"]


def test_train_has_its_switch_and_the_app_its_checkbox():
    from typer.testing import CliRunner

    from tui_trainer.cli.app import app
    from tui_trainer.tui.explain import EXPLAIN, TITLES

    shown = CliRunner().invoke(app, ["train", "--help"], terminal_width=200).output
    assert "--ema" in shown and "--no-ema" in shown
    assert TITLES["ema"] == "Weight averaging (EMA)" and "average" in EXPLAIN["ema"]
