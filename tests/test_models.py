import warnings

import pytest
import torch
from helpers import make_config
from torch import nn

from tui_trainer.data import DataSpec
from tui_trainer.models import build_model, count_parameters

SPEC = DataSpec("mnist1d", (1, 40), 10)


def _count(model, kind):
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_batchnorm_switch_adds_and_removes_normalisation(kind):
    on = build_model(SPEC, make_config({"model.kind": kind, "tricks.batchnorm.enabled": True}))
    off = build_model(SPEC, make_config({"model.kind": kind, "tricks.batchnorm.enabled": False}))
    assert _count(on, nn.BatchNorm1d) > 0
    assert _count(off, nn.BatchNorm1d) == 0


def test_cnn_batchnorm_follows_every_conv_and_drops_the_redundant_bias():
    model = build_model(SPEC, make_config({"model.cnn.channels": [8, 16, 16], "tricks.batchnorm.enabled": True}))
    layers = list(model.features)
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv1d)]
    assert len(convs) == 3
    for i in convs:
        assert isinstance(layers[i + 1], nn.BatchNorm1d)
        assert layers[i].bias is None


def test_cnn_builds_conv2d_from_a_2d_shape():
    model = build_model(DataSpec("img", (3, 16, 16), 5), make_config({"model.cnn.channels": [8, 8]}))
    assert _count(model, nn.Conv2d) == 2 and _count(model, nn.BatchNorm2d) == 2
    assert model(torch.zeros(4, 3, 16, 16)).shape == (4, 5)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_dropout_is_active_in_train_mode_and_not_in_eval(kind):
    torch.manual_seed(0)
    config = make_config({"model.kind": kind, "model.lstm.hidden_size": 16, "tricks.dropout.p": 0.5,
                          "tricks.batchnorm.enabled": False})
    model = build_model(SPEC, config)
    x = torch.randn(8, 1, 40)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_dropout_off_means_no_dropout_module(kind):
    model = build_model(SPEC, make_config({"model.kind": kind, "tricks.dropout.enabled": False}))
    assert _count(model, nn.Dropout) == 0
    model.train()
    x = torch.randn(8, 1, 40)
    assert torch.equal(model(x), model(x))  # BatchNorm in train mode is deterministic


def test_single_layer_lstm_gets_output_dropout_not_a_silent_no_op():
    config = make_config({"model.kind": "lstm", "model.lstm.num_layers": 1, "model.lstm.hidden_size": 16,
                          "tricks.dropout.p": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch warns when dropout= is ignored
        model = build_model(SPEC, config)
    assert all(lstm.dropout == 0 for lstm in model.lstms)
    assert _count(model, nn.Dropout) == 1
    model.train()
    x = torch.randn(8, 1, 40)
    assert not torch.equal(model(x), model(x))


def test_lstm_sizes_follow_the_preset():
    config = make_config({"model.kind": "lstm", "model.lstm.hidden_size": 24, "model.lstm.num_layers": 3,
                          "model.lstm.bidirectional": True})
    model = build_model(SPEC, config)
    assert len(model.lstms) == 3 and model.lstms[1].input_size == 48
    assert model(torch.randn(5, 1, 40)).shape == (5, 10)
    assert count_parameters(model) > 0


def test_lstm_inner_dropout_acts_between_stacked_layers_only():
    """model.lstm.inner_dropout: PyTorch's nn.LSTM(dropout=...) as written, after every layer but the last."""
    import torch

    from tui_trainer.data import DataSpec
    from tui_trainer.models import build_model, model_notes

    spec = DataSpec("text", (12,), 20, task="language_modelling")
    base = {"data.dataset": "text", "model.kind": "lstm", "model.lstm.hidden_size": 8, "model.lstm.embedding_dim": 4,
            "tricks.dropout.enabled": False, "tricks.batchnorm.enabled": False, "model.lstm.inner_dropout": 0.3}
    two = build_model(spec, make_config(base | {"model.lstm.num_layers": 2}))
    assert [m.p for m in two.modules() if isinstance(m, torch.nn.Dropout)] == [0.3]
    x = torch.randint(0, 20, (2, 12))
    assert not torch.equal(two(x), two(x)) and torch.equal(two.eval()(x), two(x))
    one = build_model(spec, make_config(base | {"model.lstm.num_layers": 1}))
    assert not [m for m in one.modules() if isinstance(m, torch.nn.Dropout)] and torch.equal(one(x), one(x))
    assert "does nothing with one layer" in model_notes(make_config(base | {"model.lstm.num_layers": 1}))[0]
    assert model_notes(make_config(base | {"model.lstm.num_layers": 2})) == []
