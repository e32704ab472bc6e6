"""Every run records what its model needs done to raw inputs and to its outputs (preprocessing.json):
the training split's per-channel statistics of pictures, a series' window, transform and scales, a
text's vocabulary; the same numbers the run normalised its data with."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.config.presets import load_preset
from tui_trainer.data import load_data


def trained(tmp_path, preset: str, *settings: str) -> tuple[dict, object]:
    args = [a for s in settings for a in ("--set", s)]
    result = CliRunner().invoke(app, ["train", preset, "--epochs", "1", "--threads", "1", "--json", "--runs-dir",
                                      str(tmp_path / "runs"), *args])
    assert result.exit_code == 0, result.output
    [run] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    config = load_preset(preset, list(settings))[0]
    return json.loads((run / "preprocessing.json").read_text()), load_data(config.data)


def test_pictures_record_the_training_splits_channel_statistics(tmp_path):
    record, data = trained(tmp_path, "digits-cnn")
    mean, std = data.stats
    assert record["format"] == 1 and record["task"] == "classification" and record["input_shape"] == [1, 8, 8]
    assert record["classes"] == [str(c) for c in range(10)]
    assert record["pixels"]["dtype"] == "uint8"
    assert record["pixels"]["mean"] == pytest.approx(mean.flatten().tolist())
    assert record["pixels"]["std"] == pytest.approx(std.flatten().tolist())


def test_a_series_records_its_window_transform_and_scales(tmp_path):
    record, data = trained(tmp_path, "lstm-co2")
    values, t = record["values"], data.targets
    assert record["task"] == "regression" and "pixels" not in record
    assert {k: values[k] for k in ("scale", "mean", "std", "dstd", "offset", "horizon", "column")} == {
        k: t[k] for k in ("scale", "mean", "std", "dstd", "offset", "horizon", "column")}
    config = load_preset("lstm-co2")[0]
    assert values["window"] == config.data.window and values["transform"] == config.data.transform


def test_a_text_records_its_vocabulary(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    record, data = trained(tmp_path, "lstm-text", f"data.path={json.dumps(str(corpus))}", "data.seq_len=16",
                           "model.lstm.hidden_size=16", "sample.every_epoch=false")
    assert record["task"] == "language_modelling"
    assert record["text"] == {"vocabulary": list(data.spec.classes), "seq_len": 16}
    assert set("a quick brown fox") <= set(record["text"]["vocabulary"])
