"""The lesson's "When to Use What" as findings on the settings, before a run starts: "For RNNs:
always use gradient clipping; use BatchNorm carefully", "For CNNs: BatchNorm after convolutions",
"an LR schedule for long training", "For both: monitor validation loss for early stopping", and
the lesson's own OptimizedRNN, whose ``dropout=0.3`` on one LSTM layer does nothing. Each is a
note: a rule of thumb, not something that went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import Config
from . import thresholds as T
from .findings import Finding


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    breaks: Callable[[Config], bool]  # whether a config breaks it
    evidence: Callable[[Config], str]  # the settings that break it, in words
    why: str


def _recurrent(config: Config) -> bool:
    return config.model.kind == "lstm"


#: The rules, in the lesson's order.
RULES = (
    Rule("rnn_without_clipping", "an RNN without gradient clipping",
         lambda c: _recurrent(c) and not c.tricks.grad_clip.enabled,
         lambda c: f"model.kind = lstm ({c.model.lstm.cell}) with tricks.grad_clip off",
         "the lesson's rule for RNNs: always clip; a recurrent net's gradients can grow through time in one step"),
    Rule("batchnorm_in_rnn", "BatchNorm in a recurrent model",
         lambda c: _recurrent(c) and c.tricks.batchnorm.enabled,
         lambda c: "model.kind = lstm with tricks.batchnorm on (normalisation per time step)",
         "the lesson's rule for RNNs: use BatchNorm carefully; statistics over a batch of time steps shift with "
         "the sequence"),
    Rule("inner_dropout_noop", "dropout that does nothing",
         lambda c: _recurrent(c) and c.model.lstm.num_layers == 1 and c.model.lstm.inner_dropout > 0,
         lambda c: f"model.lstm.inner_dropout = {c.model.lstm.inner_dropout:g} on one LSTM layer",
         "PyTorch drops between stacked layers only: with one layer this setting does nothing (the dropout trick "
         "is what regularises this model)"),
    Rule("cnn_without_batchnorm", "a CNN without BatchNorm",
         lambda c: c.model.kind == "cnn" and not c.tricks.batchnorm.enabled,
         lambda c: "model.kind = cnn with tricks.batchnorm off",
         "the lesson's rule for CNNs: BatchNorm after convolutions, which also allows a higher learning rate"),
    Rule("long_run_no_schedule", "a long run with a constant LR",
         lambda c: c.train.epochs >= T.LONG_RUN and not c.tricks.lr_schedule.enabled,
         lambda c: f"train.epochs = {c.train.epochs} with tricks.lr_schedule off",
         "the lesson's rule: an LR schedule for long training; a constant LR keeps the steps too large to settle"),
    Rule("no_early_stopping", "no early stopping",
         lambda c: not c.tricks.early_stopping.enabled,
         lambda c: "tricks.early_stopping off",
         "the lesson's rule for both: monitor the validation loss for early stopping"),
)
TITLES = tuple(rule.title for rule in RULES)


def settings_findings(config: Config) -> list[Finding]:
    """The rules this config breaks, in the lesson's order, each a note."""
    return [Finding(r.name, r.title, "note", "high", r.evidence(config), r.why, source="settings")
            for r in RULES if r.breaks(config)]
