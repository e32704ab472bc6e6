"""The lesson's "When to Use What" as findings on the settings, before a run starts: "For RNNs:
always use gradient clipping; use BatchNorm carefully", "For CNNs: BatchNorm after convolutions",
"an LR schedule for long training", "For both: monitor validation loss for early stopping", and
the lesson's own OptimizedRNN, whose ``dropout=0.3`` on one LSTM layer does nothing. Each is a
note: a rule of thumb, not something that went wrong."""

from __future__ import annotations

from ..config import Config
from . import thresholds as T
from .findings import Finding


def _note(name: str, title: str, evidence: str, why: str) -> Finding:
    return Finding(name, title, "note", "high", evidence, why, source="settings")


def settings_findings(config: Config) -> list[Finding]:
    """The rules this config breaks, in the lesson's order."""
    tricks, kind, found = config.tricks, config.model.kind, []
    recurrent = kind == "lstm"
    if recurrent and not tricks.grad_clip.enabled:
        found.append(_note("rnn_without_clipping", "an RNN without gradient clipping",
                           f"model.kind = lstm ({config.model.lstm.cell}) with tricks.grad_clip off",
                           "the lesson's rule for RNNs: always clip; a recurrent net's gradients can grow "
                           "through time in one step"))
    if recurrent and tricks.batchnorm.enabled:
        found.append(_note("batchnorm_in_rnn", "BatchNorm in a recurrent model",
                           "model.kind = lstm with tricks.batchnorm on (normalisation per time step)",
                           "the lesson's rule for RNNs: use BatchNorm carefully; statistics over a batch of "
                           "time steps shift with the sequence"))
    if recurrent and config.model.lstm.num_layers == 1 and config.model.lstm.inner_dropout > 0:
        found.append(_note("inner_dropout_noop", "dropout that does nothing",
                           f"model.lstm.inner_dropout = {config.model.lstm.inner_dropout:g} on one LSTM layer",
                           "PyTorch drops between stacked layers only: with one layer this setting does nothing "
                           "(the dropout trick is what regularises this model)"))
    if kind == "cnn" and not tricks.batchnorm.enabled:
        found.append(_note("cnn_without_batchnorm", "a CNN without BatchNorm",
                           "model.kind = cnn with tricks.batchnorm off",
                           "the lesson's rule for CNNs: BatchNorm after convolutions, which also allows a higher "
                           "learning rate"))
    if config.train.epochs >= T.LONG_RUN and not tricks.lr_schedule.enabled:
        found.append(_note("long_run_no_schedule", "a long run with a constant LR",
                           f"train.epochs = {config.train.epochs} with tricks.lr_schedule off",
                           "the lesson's rule: an LR schedule for long training; a constant LR keeps the steps "
                           "too large to settle"))
    if not tricks.early_stopping.enabled:
        found.append(_note("no_early_stopping", "no early stopping", "tricks.early_stopping off",
                           "the lesson's rule for both: monitor the validation loss for early stopping"))
    return found


TITLES = ("an RNN without gradient clipping", "BatchNorm in a recurrent model", "dropout that does nothing",
          "a CNN without BatchNorm", "a long run with a constant LR", "no early stopping")
