"""The recurrent model's cells: an LSTM, a GRU and a plain tanh RNN (`model.lstm.cell`), each a
real torch layer that trains on a sequence task and, for text, generates from its state."""

from __future__ import annotations

import pytest
import torch
from helpers import make_config
from torch import nn

from tui_trainer.engine.trainer import Trainer
from tui_trainer.models import build_model

def sums():
    """A tiny sequence task: 12 values one at a time; the class is whether they sum above 0, so
    the cell must carry what it has read to the end."""
    from tui_trainer.data import Datasets, DataSpec, Split

    generator = torch.Generator().manual_seed(0)

    def split(n: int) -> Split:
        x = torch.randn(n, 1, 12, generator=generator)
        return Split(x, (x.sum(dim=(1, 2)) > 0).long())

    spec = DataSpec("sums", (1, 12), 2, classes=("negative", "positive"), train_size=1024, val_size=256, test_size=256)
    return Datasets(spec, split(1024), split(256), split(256))


@pytest.mark.parametrize("cell, layer", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
def test_each_cell_is_its_torch_layer_and_learns_a_sequence_task(cell, layer):
    data = sums()
    config = make_config({"model.kind": "lstm", "model.lstm.hidden_size": 16, "model.lstm.num_layers": 1,
                          "model.lstm.cell": cell, "train.epochs": 8, "train.batch_size": 32, "train.lr": 0.01,
                          "tricks.early_stopping.enabled": False, "tricks.batchnorm.enabled": False,
                          "tricks.dropout.enabled": False})
    assert [type(m) for m in build_model(data.spec, config).lstms] == [layer]
    result = Trainer(config, data=data).run()
    assert result.status == "completed"
    assert result.summary["test_accuracy"] > 0.9  # measured: 0.977 (LSTM, GRU), 0.965 (RNN); chance is 0.5


def test_a_gru_language_model_generates_from_its_state(tmp_path):
    from tui_trainer.engine.generate import generate_text

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400)
    config = make_config({"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, "model.kind": "lstm",
                          "model.lstm.cell": "gru", "model.lstm.hidden_size": 32, "model.lstm.num_layers": 1,
                          "model.lstm.embedding_dim": 16, "train.epochs": 2, "train.batch_size": 16})
    trainer = Trainer(config)
    result = trainer.run()
    assert result.status == "completed"
    assert isinstance(result.model.lstms[0], nn.GRU)
    text = generate_text(result.model, trainer.data.spec.classes, "the ", 40, 0.8, 0, seed=1)
    assert text.startswith("the ")
    assert len(text) == 4 + 40
    assert set(text) <= set("the cat sat on the mat. ")  # only characters of its vocabulary
