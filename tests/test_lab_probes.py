"""What the later labs need beyond settings: probes that run a finished model again (dropout in
train and eval mode, BatchNorm's variance shift), the weights' norm per epoch, the hidden
layer's BatchNorm placed before or after dropout, fp16 without a GradScaler, and arms that
cannot run on this machine."""

import textwrap

import pytest
import torch
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.config import replace
from tui_trainer.config.presets import load_preset
from tui_trainer.engine import Control, Trainer
from tui_trainer.engine.precision import resolve_precision
from tui_trainer.experiments.labs import load_lab
from tui_trainer.experiments.labs.runner import plan, run
from tui_trainer.models import build_model
from tui_trainer.models.cnn import ModelShapeError
from tui_trainer.experiments.trials import InProcessTrials

ORDER_LAB = """
question = "Which order?"
lesson = "BatchNorm after dropout learns a variance that eval mode never sees."
base = "cnn-mnist1d"
seeds = 2
columns = ["eval_mode_spread", "train_mode_spread", "eval_mode_test_accuracy", "test_accuracy", "bn_variance_ratio"]
[set]
"train.epochs" = 2
"model.cnn.channels" = [8]
"model.cnn.fc_hidden" = 32
"tricks.dropout.p" = 0.5
[[arm]]
name = "bn first"
set = { "model.cnn.head_norm" = "before_dropout" }
[[arm]]
name = "dropout first"
set = { "model.cnn.head_norm" = "after_dropout" }
[[verdict]]
rule = "paired"
metric = "eval_mode_spread"
against = ["train_mode_spread"]
worse = ["train_mode_spread"]
[[verdict]]
metric = "bn_variance_shift"
reference = "bn first"
worse = ["dropout first"]
"""


def test_probes_measure_dropout_in_both_modes_and_the_variance_shift(tmp_path, mnist1d):
    path = tmp_path / "order.toml"
    path.write_text(textwrap.dedent(ORDER_LAB))
    session = run(plan(load_lab(path), extra={"train.threads": 1}), tmp_path / "runs", InProcessTrials(Control()))
    by_arm = {r["arm"]: r["metrics"] for r in session.results}
    for m in by_arm.values():
        assert m["eval_mode_spread"] == 0.0  # eval mode: the same input, the same output
        assert m["train_mode_spread"] > 0.05  # train mode: dropout draws other units on each pass
        # the probe scores what the run kept
        assert m["eval_mode_test_accuracy"] == pytest.approx(m["test_accuracy"], abs=1e-9)
    assert 0.7 < by_arm["bn first"]["bn_variance_ratio"] < 1.3
    # learnt on units scaled by 1/(1 - p): about twice the variance
    assert by_arm["dropout first"]["bn_variance_ratio"] > 1.5
    assert session.verdict.outcome == "holds", session.verdict.text()
    shown = CliRunner().invoke(app, ["lab", "show", "order", "--runs-dir", str(tmp_path / "runs")])
    assert shown.exit_code == 0
    assert "bn_variance_shift: the lesson holds here" in shown.output
    assert "dropout first" in shown.output


def test_head_norm_puts_batchnorm_before_or_after_the_dropout(mnist1d):
    base, _ = load_preset("cnn-mnist1d")
    def head(order):
        return [type(m).__name__ for m in build_model(mnist1d.spec, replace(base, {"model.cnn.head_norm": order})).head]
    assert head("none") == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert head("before_dropout") == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert head("after_dropout") == ["Flatten", "Linear", "ReLU", "Dropout", "BatchNorm1d", "Linear"]
    with pytest.raises(ModelShapeError, match="set model.cnn.fc_hidden above 0"):
        build_model(mnist1d.spec, replace(base, {"model.cnn.head_norm": "before_dropout", "model.cnn.fc_hidden": 0}))


def test_sgd_l2_and_decoupled_decay_are_one_update_and_the_weight_norm_is_recorded(small_data):
    base, _ = load_preset("cnn-mnist1d")
    settings = {"train.epochs": 1, "train.optimizer": "sgd", "train.lr": 0.05, "train.momentum": 0.0,
                "train.threads": 1, "model.cnn.channels": [8], "model.cnn.fc_hidden": 16,
                "tricks.early_stopping.enabled": False, "tricks.weight_decay.value": 0.05,
                "tricks.lr_schedule.enabled": False, "tricks.dropout.enabled": False}
    models, norms = [], []
    for mode in ("coupled", "decoupled"):
        result = Trainer(replace(base, {**settings, "tricks.weight_decay.mode": mode}), data=small_data,
                         keep_events=True).run()
        models.append(result.model)
        norms.append([e.weight_norm for e in result.events if type(e).__name__ == "EpochEnded"][-1])
    weights = [p for p in models[0].parameters() if p.ndim >= 2]
    assert norms[0] == pytest.approx(float(torch.sqrt(sum((p.detach() ** 2).sum() for p in weights))), rel=1e-5)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # plain SGD: L2's gradient λw is the decay lr·λ·w
    assert norms[0] == pytest.approx(norms[1], rel=1e-4)


def test_fp16_without_a_grad_scaler_is_a_setting_and_cpu_only_arms_are_skipped_with_the_reason():
    base, _ = load_preset("cnn-mnist1d")
    fp16 = {"tricks.mixed_precision.enabled": True, "tricks.mixed_precision.dtype": "fp16"}
    cuda = torch.device("cuda")  # resolving needs no GPU: what a GPU would get
    assert resolve_precision(replace(base, fp16), cuda).use_scaler
    assert not resolve_precision(replace(base, {**fp16, "tricks.mixed_precision.grad_scaler": False}), cuda).use_scaler
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU runs the fp16 arms")
    session = plan(load_lab("mixed-precision"))
    assert set(session.skipped) == {"fp16 + GradScaler", "fp16, no scaler"}
    assert all("fp16 autocast is for GPUs" in why for why in session.skipped.values())
    assert {r.fields["arm"] for r in session.runs} <= {"fp32", "bf16", "char-LSTM fp32", "char-LSTM bf16"}
