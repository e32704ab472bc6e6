"""A recurrent classifier and language model: stacked single-layer LSTMs (or GRUs, or plain tanh
RNNs: ``model.lstm.cell``), read at the last step, then a linear classifier.

The layers are separate ``nn.LSTM`` (``nn.GRU``, ``nn.RNN``) modules so that the tricks can sit
between them:

- batchnorm: ``BatchNorm1d`` over the features at every time step, after each layer;
- dropout: between layers and on the output. With one layer there is only the output
  dropout; PyTorch's own ``dropout=`` argument would be silently ignored there.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.schema import Config
from ..data import DataSpec

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # the RNN's nonlinearity: tanh


class LSTMClassifier(nn.Module):
    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        if len(spec.input_shape) != 2:
            from .cnn import ModelShapeError

            raise ModelShapeError("model.kind = \"lstm\" reads sequences of (features, "
                                  f"steps); {spec.name} has images of {spec.shape_text}: use model.kind = \"cnn\"")
        m, tricks = config.model.lstm, config.tricks
        directions = 2 if m.bidirectional else 1
        width = m.hidden_size * directions
        self.hidden_size = m.hidden_size
        self.bidirectional = m.bidirectional
        self.lstms = nn.ModuleList(
            CELLS[m.cell](spec.input_shape[0] if i == 0 else width, m.hidden_size, batch_first=True,
                          bidirectional=m.bidirectional)
            for i in range(m.num_layers)
        )
        self.norms = (
            nn.ModuleList(nn.BatchNorm1d(width, momentum=tricks.batchnorm.momentum) for _ in range(m.num_layers))
            if tricks.batchnorm.enabled
            else None
        )
        self.dropout = nn.Dropout(tricks.dropout.p) if tricks.dropout.enabled else None
        self.inner = nn.Dropout(m.inner_dropout) if m.inner_dropout > 0 and m.num_layers > 1 else None
        self.classifier = nn.Linear(width, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.transpose(1, 2)  # (batch, features, steps) -> (batch, steps, features)
        last = len(self.lstms) - 1
        for i, lstm in enumerate(self.lstms):
            seq, _ = lstm(seq)
            if self.norms is not None:
                seq = self.norms[i](seq.transpose(1, 2)).transpose(1, 2)
            if self.dropout is not None and i < last:
                seq = self.dropout(seq)
            if self.inner is not None and i < last:
                seq = self.inner(seq)
        if self.bidirectional:
            out = torch.cat((seq[:, -1, : self.hidden_size], seq[:, 0, self.hidden_size :]), dim=1)
        else:
            out = seq[:, -1]
        if self.dropout is not None:
            out = self.dropout(out)
        return self.classifier(out)


class LSTMLanguageModel(nn.Module):
    """A character-level LSTM: an embedding, stacked single-layer LSTMs, and a linear head at
    every step that predicts the next character. The tricks sit as in :class:`LSTMClassifier`:

    - batchnorm: ``BatchNorm1d`` over the features at every time step, after each layer;
    - dropout: on the embeddings (unless ``embedding_dropout = false``), between layers and
      before the head. With one layer it is the dropout on the embeddings and before the head;
      PyTorch's own ``dropout=`` would do nothing there.
    - ``inner_dropout``: PyTorch's ``nn.LSTM(dropout=...)`` as the lesson writes it, after
      every layer but the last; nothing with one layer (see :func:`notes`).
    """

    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        m, tricks = config.model.lstm, config.tricks
        if m.bidirectional:
            from .cnn import ModelShapeError

            raise ModelShapeError("model.lstm.bidirectional: a language model must not "
                                  "read the characters it predicts; set it to false")
        self.embedding = nn.Embedding(spec.num_classes, m.embedding_dim)
        self.lstms = nn.ModuleList(CELLS[m.cell](m.embedding_dim if i == 0 else m.hidden_size, m.hidden_size,
                                                 batch_first=True)
                                   for i in range(m.num_layers))
        self.norms = (nn.ModuleList(nn.BatchNorm1d(m.hidden_size,
                                                   momentum=tricks.batchnorm.momentum) for _ in range(m.num_layers))
                      if tricks.batchnorm.enabled else None)
        self.dropout = nn.Dropout(tricks.dropout.p) if tricks.dropout.enabled else None
        self.embedding_dropout = self.dropout if m.embedding_dropout else None
        self.inner = nn.Dropout(m.inner_dropout) if m.inner_dropout > 0 and m.num_layers > 1 else None
        self.head = nn.Linear(m.hidden_size, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0]  # (batch, steps, vocabulary)

    def step(self, x: torch.Tensor, states: list | None = None) -> tuple[torch.Tensor, list]:
        """The logits for ``x`` (batch, steps) and each layer's state after it, continuing from
        ``states``: generation feeds one character at a time."""
        seq = self.embedding(x)
        after = []
        last = len(self.lstms) - 1
        for i, lstm in enumerate(self.lstms):
            drop = self.embedding_dropout if i == 0 else self.dropout
            if drop is not None:
                seq = drop(seq)
            seq, state = lstm(seq, None if states is None else states[i])
            after.append(state)
            if self.norms is not None:
                seq = self.norms[i](seq.transpose(1, 2)).transpose(1, 2)
            if self.inner is not None and i < last:
                seq = self.inner(seq)
        if self.dropout is not None:
            seq = self.dropout(seq)
        return self.head(seq), after


def notes(config: Config) -> list[str]:
    """What the user should know about how these LSTM settings act."""
    m, dropout = config.model.lstm, config.tricks.dropout
    if m.inner_dropout > 0 and m.num_layers == 1:
        instead = (f"the dropout trick (p = {dropout.p}) "
                   f"{'on the embeddings and ' if m.embedding_dropout else ''}before "
                   "the head is what regularises "
                   "it") if dropout.enabled else "switch the dropout trick on to regularise it"
        return [f"model.lstm.inner_dropout = {m.inner_dropout} does nothing with one layer: like "
                f"PyTorch's nn.LSTM(dropout=...), which warns about it, it acts between stacked layers only; {instead}"]
    return []


def lstm(spec: DataSpec, config: Config) -> nn.Module:
    """The LSTM family: a language model for text, else a classifier."""
    if spec.kind.per_position:
        return LSTMLanguageModel(spec, config)
    return LSTMClassifier(spec, config)
