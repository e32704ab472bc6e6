"""The doctor's own benchmark corpus: configurations made sick on purpose, one or more for each
finding, each with the finding it should be named for first; and healthy bundled presets, on
which the doctor should raise no warning. ``bench/doctor.py`` trains them and scores the doctor.

The sick ones are small (1,000 MNIST-1D samples, a few seconds a run on one core) so that the
whole corpus, three seeds of each, trains in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SMALL = {"data.train_limit": 1000}
PLAIN = {"tricks.batchnorm.enabled": False, "tricks.dropout.enabled": False, "tricks.weight_decay.enabled": False,
         "tricks.lr_schedule.enabled": False, "tricks.early_stopping.enabled": False,
         "tricks.grad_clip.enabled": False}


@dataclass(frozen=True)
class Case:
    name: str
    preset: str
    settings: dict[str, Any] = field(default_factory=dict)
    expects: tuple[str, ...] = ()  # the first finding it should get (any of these); empty: healthy, no warning
    needs: str = ""  # "cuda": only where a GPU is
    why: str = ""

    @property
    def sick(self) -> bool:
        return bool(self.expects)


SICK = (
    Case("overfit-small-data", "cnn-mnist1d", {"data.train_limit": 400, "train.epochs": 40, **PLAIN},
         ("overfitting",), why="the overfitting lab's unregularised CNN: 400 samples, 40 epochs, no trick"),
    Case("no-early-stopping", "cnn-mnist1d", {"data.train_limit": 400, "train.epochs": 40, **PLAIN,
                                              "tricks.weight_decay.enabled": True},
         ("overfitting", "early_stopping_absent"),
         why="weight decay alone (the overfitting lab found it no help there), no early stopping, on 400 samples"),
    Case("lr-10x-high", "cnn-mnist1d", {**SMALL, "train.lr": 0.5, "tricks.batchnorm.enabled": False,
                                        "train.epochs": 8},
         ("lr_too_high",), why="Adam at 0.5 without BatchNorm"),
    Case("lr-100x-low", "cnn-mnist1d", {**SMALL, "train.lr": 0.00001, "tricks.lr_schedule.enabled": False,
                                        "train.epochs": 8},
         ("lr_too_low",), why="Adam at 1e-5"),
    Case("rnn-unclipped", "lstm-mnist1d", {**SMALL, "train.optimizer": "sgd", "train.lr": 1.0, "train.epochs": 6,
                                           "tricks.lr_schedule.enabled": False, "tricks.weight_decay.enabled": False,
                                           "tricks.early_stopping.enabled": False,
                                           "tricks.grad_clip.enabled": False},
         ("exploding_gradients",), why="the rnn-clipping lab's LSTM without clipping: SGD at 1"),
    Case("deep-plain-cnn", "cnn-mnist1d", {**SMALL, "model.cnn.channels": [16] * 20, "model.cnn.pool_every": 0,
                                           "tricks.batchnorm.enabled": False, "train.epochs": 4},
         ("vanishing_gradients",), why="20 convolutions without BatchNorm or shortcuts"),
    Case("tiny-model", "cnn-mnist1d", {**SMALL, "model.cnn.channels": [2], "model.cnn.fc_hidden": 0,
                                       "train.epochs": 20},
         ("plateau",), why="two channels and no hidden layer: too little capacity"),
    Case("schedule-too-short", "cnn-mnist1d", {**SMALL, "train.epochs": 3, "train.lr": 0.0005},
         ("schedule_too_short",), why="a cosine schedule over 3 epochs at a low LR"),
    Case("constant-lr", "cnn-mnist1d", {**SMALL, "tricks.lr_schedule.enabled": False, "train.lr": 0.01,
                                        "tricks.early_stopping.enabled": False, "train.epochs": 30},
         ("schedule_absent",), why="30 epochs at a constant 0.01"),
    Case("impatient", "cnn-mnist1d", {**SMALL, "tricks.lr_schedule.enabled": False, "train.lr": 0.01,
                                      "tricks.early_stopping.patience": 2, "train.epochs": 40},
         ("early_stopping_eager",), why="patience 2 on a bouncing validation loss"),
    Case("clip-too-tight", "cnn-mnist1d", {**SMALL, "train.optimizer": "sgd", "train.lr": 0.1,
                                           "tricks.grad_clip.threshold": 0.01, "train.epochs": 6},
         ("clipping_every_step",), why="SGD with its gradient clipped at 0.01"),
    Case("no-decay", "cnn-mnist1d", {**SMALL, **PLAIN, "train.lr": 0.01, "train.epochs": 40},
         ("weights_growing", "overfitting", "schedule_absent"), why="no weight decay or BatchNorm for 40 epochs"),
    Case("dead-relu", "cnn-mnist1d", {**SMALL, "train.lr": 0.1, "tricks.batchnorm.enabled": False, "train.epochs": 12},
         ("dead_relu",), why="Adam at 0.1 without BatchNorm: most of a layer's ReLUs die in the first steps"),
    Case("saturated-rnn", "lstm-mnist1d", {**SMALL, "model.lstm.cell": "rnn", "train.lr": 0.03,
                                           "tricks.grad_clip.enabled": False, "train.epochs": 8},
         ("saturated",), why="a plain tanh RNN at Adam 0.03 without clipping: its outputs pinned at ±1"),
    Case("fp16-overflow", "cnn-mnist1d", {**SMALL, "tricks.mixed_precision.enabled": True,
                                          "tricks.mixed_precision.dtype": "fp16", "train.lr": 0.5,
                                          "tricks.grad_clip.enabled": False, "train.epochs": 6},
         ("scaler_overflow", "lr_too_high"), needs="cuda", why="fp16 with a GradScaler at a high LR"),
)

HEALTHY = (
    Case("cnn-mnist1d", "cnn-mnist1d"),
    Case("lstm-mnist1d", "lstm-mnist1d"),
    Case("gru-mnist1d", "gru-mnist1d"),
    Case("resnet-mnist1d", "resnet-mnist1d"),
    Case("digits-cnn", "digits-cnn"),
    Case("digits-optimized-cnn", "digits-optimized-cnn"),
    Case("lstm-co2", "lstm-co2"),
)

#: The changes a random prescription is drawn from: the same menu of switches and LR factors the
#: doctor prescribes from.
MENU: tuple[tuple[str, Any], ...] = (
    ("train.lr*", 0.1), ("train.lr*", 3.0), ("train.lr*", 10.0), ("train.epochs*", 2),
    ("tricks.batchnorm.enabled", None), ("tricks.dropout.enabled", None), ("tricks.weight_decay.enabled", None),
    ("tricks.lr_schedule.enabled", None), ("tricks.early_stopping.enabled", None), ("tricks.grad_clip.enabled", None),
    ("model.lstm.cell", "lstm"),  # a recurrent model's cell (where it is not an LSTM already)
    ("model.width*", 4),  # every layer's width (thresholds.WIDEN: what a plateau on a small model is prescribed)
)
