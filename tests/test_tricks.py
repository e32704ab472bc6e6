import math

import pytest
import torch
from helpers import make_config, norms_not_skipped
from torch import nn

from tui_trainer.data import DataSpec
from tui_trainer.engine.early_stopping import EarlyStopping
from tui_trainer.engine.events import StepStats
from tui_trainer.engine.clip import make_clipper
from tui_trainer.engine.optim import build_optimizer
from tui_trainer.engine.precision import (
    SetupError,
    cpu_has_native_bf16,
    resolve_precision,
)
from tui_trainer.engine.trainer import Trainer
from tui_trainer.models import build_model

SPEC = DataSpec("mnist1d", (1, 40), 10)


# -- gradient clipping ----------------------------------------------------------


def _model_with_grads(scale: float):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    for p in model.parameters():
        p.grad = torch.randn_like(p) * scale
    params = list(model.parameters())
    before = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in params])).item()
    return params, before


def _norm(params):
    return torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in params])).item()


def test_clip_by_norm_bounds_the_global_norm_and_reports_the_pre_clip_norm():
    params, before = _model_with_grads(5.0)
    clip = make_clipper(params, make_config({"tricks.grad_clip.mode": "norm", "tricks.grad_clip.threshold": 1.0}))
    reported = clip().item()
    assert reported == pytest.approx(before, rel=1e-5)
    assert before > 1.0 and _norm(params) == pytest.approx(1.0, rel=1e-4)


def test_clip_by_value_bounds_every_element_and_reports_the_pre_clip_norm():
    params, before = _model_with_grads(5.0)
    clip = make_clipper(params, make_config({"tricks.grad_clip.mode": "value", "tricks.grad_clip.threshold": 0.5}))
    assert clip().item() == pytest.approx(before, rel=1e-5)
    assert max(p.grad.abs().max().item() for p in params) <= 0.5


def test_clip_off_still_measures_and_leaves_gradients_alone():
    params, before = _model_with_grads(5.0)
    grads = [p.grad.clone() for p in params]
    clip = make_clipper(params, make_config({"tricks.grad_clip.enabled": False}))
    assert clip().item() == pytest.approx(before, rel=1e-5)
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, params))


def test_engine_reports_pre_clip_norms(small_data):
    config = make_config({"train.epochs": 1, "tricks.grad_clip.threshold": 0.01,
                          "tricks.early_stopping.enabled": False})
    result = Trainer(config, data=small_data, keep_events=True).run()
    norms = [n for e in result.events if isinstance(e, StepStats) for n in e.grad_norms]
    assert len(norms) == 4 and min(norms) > 0.01  # the threshold, had it been post-clip


# -- weight decay -----------------------------------------------------------------


def test_biases_and_norm_weights_are_excluded_from_decay():
    model = build_model(SPEC, make_config({"tricks.weight_decay.value": 0.1}))
    groups = build_optimizer(model, make_config({"tricks.weight_decay.value": 0.1})).optimizer.param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    for name, p in model.named_parameters():
        assert (id(p) in decayed) == (p.ndim >= 2), name
    groups = build_optimizer(model,
                             make_config({"tricks.weight_decay.exclude_bias_and_norm": False})).optimizer.param_groups
    assert all(g["weight_decay"] > 0 for g in groups)


def test_decay_off_means_zero_decay_everywhere():
    model = build_model(SPEC, make_config())
    groups = build_optimizer(model, make_config({"tricks.weight_decay.enabled": False})).optimizer.param_groups
    assert all(g["weight_decay"] == 0 for g in groups)


def _one_step_with_zero_gradient(overrides):
    config = make_config({"tricks.batchnorm.enabled": False, "train.lr": 0.01, "tricks.weight_decay.value": 0.1,
                          **overrides})
    torch.manual_seed(0)
    model = build_model(SPEC, config)
    setup = build_optimizer(model, config)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    from tui_trainer.engine.optim import apply_sgd_decoupled_decay

    apply_sgd_decoupled_decay(setup)
    setup.optimizer.step()
    return before, dict(model.named_parameters())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_decoupled_decay_shrinks_weights_by_lr_times_value(optimizer):
    before, after = _one_step_with_zero_gradient({"train.optimizer": optimizer,
                                                  "tricks.weight_decay.mode": "decoupled"})
    w = "head.1.weight"
    assert torch.allclose(after[w], before[w] * (1 - 0.01 * 0.1), rtol=0, atol=1e-7)
    assert torch.equal(after["head.1.bias"], before["head.1.bias"])  # biases excluded


def test_coupled_decay_goes_through_adams_normalisation():
    before, after = _one_step_with_zero_gradient({"train.optimizer": "adam", "tricks.weight_decay.mode": "coupled"})
    w = "head.1.weight"
    # The L2 gradient 0.1*p is normalised by Adam: the first step moves each weight by ~lr,
    # whatever its size, instead of shrinking it by the factor (1 - lr*value).
    step = (before[w] - after[w]).abs()
    nonzero = before[w].abs() > 1e-3
    assert torch.allclose(step[nonzero], torch.full_like(step[nonzero], 0.01), rtol=1e-3)
    decoupled = before[w] * 0.01 * 0.1
    assert not torch.allclose(step, decoupled.abs(), rtol=0.1)


# -- early stopping ----------------------------------------------------------------


def test_early_stopping_counts_patience_and_respects_min_delta():
    es = EarlyStopping(make_config({"tricks.early_stopping.patience": 3,
                                    "tricks.early_stopping.min_delta": 0.05}).tricks.early_stopping)
    history = [1.0, 0.9, 0.88, 0.87, 0.95]  # 0.88 and 0.87 are within min_delta of 0.9
    flags = [es.update(i + 1, {"val_loss": v, "val_accuracy": 0.0}) for i, v in enumerate(history)]
    assert flags == [True, True, False, False, False]
    assert es.best_epoch == 2 and es.wait == 3 and es.should_stop


def test_early_stopping_maximises_accuracy_and_ignores_nan():
    cfg = make_config({"tricks.early_stopping.monitor": "val_accuracy",
                       "tricks.early_stopping.patience": 1}).tricks.early_stopping
    es = EarlyStopping(cfg)
    assert es.mode == "max"
    assert es.update(1, {"val_accuracy": 0.5, "val_loss": 1.0})
    assert not es.update(2, {"val_accuracy": math.nan, "val_loss": 1.0})
    assert es.best == 0.5 and es.should_stop


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_engine_stops_after_patience_and_restores_the_best_weights(small_data, tmp_path):
    from tui_trainer.runs import RunFolder

    # min_delta so large that nothing after epoch 1 counts as an improvement
    config = make_config({"train.epochs": 10, "tricks.early_stopping.patience": 2,
                          "tricks.early_stopping.min_delta": 100.0})
    folder = RunFolder.create(tmp_path, "es")
    result = Trainer(config, data=small_data, run_folder=folder).run()
    assert result.status == "early_stopped"
    assert result.summary["epochs_run"] == 3 and result.summary["best_epoch"] == 1
    best = torch.load(folder.path / "best.pt", weights_only=True)
    last = torch.load(folder.path / "last.pt", weights_only=True)
    assert best["epoch"] == 1 and last["epoch"] == 3
    final = result.model.state_dict()
    assert all(torch.equal(final[k], best["model"][k]) for k in final)
    assert not all(torch.equal(last["model"][k], best["model"][k]) for k in final)


def test_restore_best_also_when_the_last_epoch_is_reached(small_data, tmp_path):
    from tui_trainer.runs import RunFolder

    config = make_config({"train.epochs": 3, "tricks.early_stopping.patience": 10,
                          "tricks.early_stopping.min_delta": 100.0})
    folder = RunFolder.create(tmp_path, "es")
    result = Trainer(config, data=small_data, run_folder=folder).run()
    assert result.status == "completed" and result.summary["weights"] == "best"
    best = torch.load(folder.path / "best.pt", weights_only=True)
    assert all(torch.equal(v, best["model"][k]) for k, v in result.model.state_dict().items())


def test_without_restore_the_last_weights_are_kept(small_data):
    config = make_config({"train.epochs": 3, "tricks.early_stopping.restore_best": False,
                          "tricks.early_stopping.min_delta": 100.0})
    assert Trainer(config, data=small_data).run().summary["weights"] == "last"


# -- mixed precision -----------------------------------------------------------------


@pytest.mark.skipif(cpu_has_native_bf16(), reason="this CPU has native bf16: the guard lets it through")
@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_mixed_precision_is_refused_on_a_cpu_without_bf16(kind):
    config = make_config({"model.kind": kind, "tricks.mixed_precision.enabled": True, "train.device": "cpu"})
    with pytest.raises(SetupError) as info:
        Trainer(config).prepare()
    message = str(info.value)
    assert "no native bf16" in message and "--no-mixed-precision" in message
    if kind == "lstm":
        assert "oneDNN" in message


def test_fp16_is_refused_on_the_cpu():
    config = make_config({"tricks.mixed_precision.enabled": True, "tricks.mixed_precision.dtype": "fp16"})
    with pytest.raises(SetupError, match="fp16 autocast is for GPUs"):
        resolve_precision(config, torch.device("cpu"), allow_emulated_bf16=True)


def test_forced_bf16_autocast_trains_a_tiny_cnn_on_the_cpu(small_data):
    config = make_config(
        {"train.epochs": 1, "model.cnn.channels": [8], "train.device": "cpu", "tricks.mixed_precision.enabled": True}
    )
    result = Trainer(config, data=small_data, allow_emulated_bf16=True).run()
    assert result.summary["precision"] == "bf16"
    assert result.status == "completed" and math.isfinite(result.summary["best_val_loss"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_mixed_precision_on_cuda(small_data, dtype, kind):
    if dtype == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    config = make_config(
        {"train.epochs": 2, "model.kind": kind, "train.device": "cuda", "tricks.mixed_precision.enabled": True,
         "tricks.mixed_precision.dtype": dtype}
    )
    trainer = Trainer(config, data=small_data, keep_events=True)
    result = trainer.run()
    assert result.summary["precision"] == dtype and result.status == "completed"
    assert trainer.parts.scaler.is_enabled() == (dtype == "fp16")
    norms = norms_not_skipped(result.events)  # unscaled before they are measured
    assert all(math.isfinite(n) for n in norms)
    assert max(norms) < 1e3
