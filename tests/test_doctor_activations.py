"""Activations the events cannot show (issue 31, part 7): the probe's dead and saturated shares on
models whose answer is known, a run that trains exactly as it does with the probe off, the
readings in metrics.jsonl, and the doctor's two findings on each side of their thresholds."""

from __future__ import annotations

import pytest
import torch
from doctor_runs import events, falling
from helpers import make_config
from torch import nn

from tui_trainer.doctor import diagnose, trace_of
from tui_trainer.doctor import thresholds as T
from tui_trainer.doctor.activations import dead_relu, saturated
from tui_trainer.engine.activations import ActivationProbe
from tui_trainer.engine.events import ActivationStats, EpochEnded, StepStats, event_from_dict, event_to_dict
from tui_trainer.engine.trainer import Trainer

# -- the probe ------------------------------------------------------------------------------------


def _known_model() -> nn.Sequential:
    """A conv whose channels 0-3 can never be on (bias -100), a hidden layer, a tanh driven far out."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 8, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(8 * 38, 16), nn.ReLU(),
                          nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))
    with torch.no_grad():
        model[0].bias[:4] = -100.0
        model[5].weight.mul_(1000.0)
    return model


def test_the_probe_reads_dead_channels_and_saturated_outputs_and_leaves_the_model_as_it_was():
    model = _known_model().train()
    probe = ActivationProbe(model, every=10)
    assert [(name, kind) for name, _, (kind, _) in probe.layers] == [
        ("1 (ReLU)", "dead"), ("4 (ReLU)", "dead"), ("6 (Tanh)", "saturated")]
    probe.keep(torch.randn(300, 1, 40))
    assert len(probe.batch) == 256  # a copy of at most PROBE_SAMPLES samples of the first batch
    assert not probe.due(9) and probe.due(10) and probe.due(20)
    rng = torch.get_rng_state()
    reading = probe.measure(10, 0)
    assert reading.dead["1 (ReLU)"] == 0.5  # 4 of 8 channels, zero at every sample and position
    assert 0.0 <= reading.dead["4 (ReLU)"] < 0.5
    assert reading.saturated["6 (Tanh)"] > 0.9  # weights a thousand times too large: tanh at ±1
    assert reading.samples == 256 and reading.step == 10
    assert model.training and torch.equal(torch.get_rng_state(), rng)  # its mode back, no random number drawn
    assert all(not m._forward_hooks for m in model.modules())  # the hooks are gone
    assert event_from_dict(event_to_dict(reading)) == reading  # as metrics.jsonl holds it


def test_a_plain_rnn_is_read_for_saturation_and_a_model_without_such_layers_is_not_probed():
    rnn = nn.RNN(3, 5, batch_first=True)
    probe = ActivationProbe(rnn, every=1)
    probe.keep(100 * torch.randn(4, 7, 3))  # inputs far beyond tanh's linear part
    assert probe.measure(1, 0).saturated["RNN"] > 0.8
    lstm = ActivationProbe(nn.LSTM(3, 5), every=1)  # its gates are in the fused kernel: nothing to hook
    assert not lstm.enabled
    lstm.keep(torch.randn(4, 7, 3))
    assert lstm.batch is None and not lstm.due(1)
    assert not ActivationProbe(_known_model(), every=0).enabled  # train.activations_every = 0: off


def _train(data, every: int):
    config = make_config({"train.epochs": 2, "train.batch_size": 64, "train.activations_every": every,
                          "model.cnn.channels": [8, 8], "tricks.dropout.enabled": True})
    return Trainer(config, data=data, keep_events=True).run()


def test_a_run_trains_exactly_as_it_does_with_the_probe_off_and_records_its_readings(small_data):
    probed, plain = _train(small_data, 3), _train(small_data, 0)
    losses = [[e.losses for e in r.events if isinstance(e, StepStats)] for r in (probed, plain)]
    assert losses[0] == losses[1]  # dropout on, BatchNorm on: the same steps, the same numbers
    assert probed.summary["test_loss"] == plain.summary["test_loss"]
    for key, value in plain.model.state_dict().items():
        assert torch.equal(probed.model.state_dict()[key], value), key  # running statistics too
    readings = [e for e in probed.events if isinstance(e, ActivationStats)]
    steps = sum(e.steps for e in probed.events if isinstance(e, EpochEnded))
    assert [r.step for r in readings] == list(range(3, steps + 1, 3))
    assert set(readings[0].dead) == {"features.2 (ReLU)", "features.6 (ReLU)", "head.2 (ReLU)"}
    assert all(0.0 <= share <= 1.0 for r in readings for share in r.dead.values())
    assert not [e for e in plain.events if isinstance(e, ActivationStats)]


# -- the doctor's findings ------------------------------------------------------------------------


def _run(readings: list[tuple[int, dict[str, float], dict[str, float]]], n: int = 8, **plan):
    extra = [ActivationStats(epoch=step // 20, step=step, dead=dead, saturated=sat, samples=128)
             for step, dead, sat in readings]
    return trace_of(events(falling(n), falling(n), extra=extra, **plan))


def test_dead_relus_are_most_of_a_layer_silent_reading_after_reading():
    over, under = T.DEAD + 0.05, T.DEAD - 0.05
    found = dead_relu(_run([(50, {"a": 0.1}, {}), (100, {"a": over}, {}), (150, {"a": over + 0.1}, {})]))
    assert found is not None and found.step == 100 and found.severity == "warning"
    assert f"{over + 0.1:.0%} of the units of a" in found.evidence
    assert f"{over:.0%} already at step 100" in found.evidence
    assert dead_relu(_run([(50, {"a": under}, {}), (100, {"a": under}, {})])) is None  # below the bar
    assert dead_relu(_run([(50, {"a": over}, {}), (100, {"a": under}, {})])) is None  # it came back
    assert dead_relu(_run([(100, {"a": over}, {})])) is None  # one reading: a moment, not a state
    assert dead_relu(_run([])) is None  # the probe off: nothing said
    two = dead_relu(_run([(50, {"a": over, "b": 0.9}, {}), (100, {"a": over, "b": 0.9}, {})]))
    assert "of the units of b" in two.evidence and "1 more layer as far gone" in two.evidence


def test_saturation_is_half_a_layer_at_its_limits_reading_after_reading():
    over, under = T.SATURATED_SHARE + 0.2, T.SATURATED_SHARE - 0.1
    found = saturated(_run([(100, {}, {"RNN": over}), (200, {}, {"RNN": over})]))
    assert found is not None and found.step == 100 and "70% of the outputs of RNN" in found.evidence
    assert saturated(_run([(100, {}, {"RNN": under}), (200, {}, {"RNN": under})])) is None
    assert saturated(_run([(100, {}, {"RNN": over}), (200, {}, {"RNN": under})])) is None


@pytest.mark.parametrize("settings, refused, typed", [
    ({"model.kind": "cnn", "tricks.batchnorm.enabled": False}, [], "--batchnorm"),
    ({"model.kind": "cnn", "tricks.batchnorm.enabled": True, "train.lr": 0.03}, [], "--lr 0.01"),
    # a user's model whose factory takes no batchnorm argument: the switch cannot reach it
    ({"model.kind": "python", "model.python.factory": "m.py:f", "tricks.batchnorm.enabled": False,
      "train.lr": 0.03}, ["batchnorm"], "--lr 0.01"),
])
def test_dead_relus_are_prescribed_batchnorm_where_it_is_off_else_a_lower_lr(settings, refused, typed):
    trace = _run([(50, {"a": 0.9}, {}), (100, {"a": 0.9}, {})], refused_tricks=refused)
    trace.config = make_config(settings)
    [finding] = [f for f in diagnose(trace).findings if f.name == "dead_relu"]
    assert finding.prescription.typed == typed and finding.prescription.lab == "batchnorm-lr"


def test_a_saturated_plain_rnn_is_prescribed_the_lstm_cell():
    trace = _run([(50, {}, {"lstms.0 (RNN)": 0.9}), (100, {}, {"lstms.0 (RNN)": 0.9})])
    trace.config = make_config({"model.kind": "lstm", "model.lstm.cell": "rnn"})
    [finding] = [f for f in diagnose(trace).findings if f.name == "saturated"]
    assert finding.prescription.typed == "--set model.lstm.cell=lstm"
    assert diagnose(trace).findings[0].name == "saturated"  # a warning, before the settings' rules
