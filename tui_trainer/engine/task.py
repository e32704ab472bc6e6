"""What a dataset asks to be learnt: the loss, the validation metrics, and what early stopping may watch.

A dataset names its task in its :class:`~tui_trainer.data.DataSpec`; the loop calls the
task's ``loss`` and :func:`evaluate` calls its ``sums``, so a new task (regression, language
modelling) is a class here and one line in :data:`TASKS`, with no ``if`` in the loop.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..config.tricks import SCHEDULES
from ..data import Datasets, InputPipeline, Split, StreamedSplit
from ..data.splits import eval_steps
from .health import classifier_not_learning, language_model_not_learning
from .precision import Precision, SetupError

EVAL_BATCH = 1024


class Task:
    """What every task says of itself; the three below fill it in."""

    name: str
    #: Validation metrics besides the loss, as named in events and summaries without the
    #: ``val_`` / ``test_`` prefix.
    metrics: tuple[str, ...]
    #: The metric that says how good a run is, in ``runs list``, ablation tables and summaries,
    #: and whether more (``max``) or less (``min``) is better.
    headline: str
    headline_mode: str
    #: The validation metric early stopping watches when its monitor is "auto".
    monitor: str

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean training loss of a batch."""
        raise NotImplementedError

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Per-batch sums on the device: the summed loss, then one sum per metric (or per name
        in the task's ``sum_names``, when it has a ``finish`` that turns their means into metrics)."""
        raise NotImplementedError

    @property
    def sum_names(self) -> tuple[str, ...]:
        """What :meth:`sums` returns, in order."""
        return ("loss", *self.metrics)

    def finish(self, means: dict[str, float]) -> dict[str, float]:
        """The metrics from the means of the sums (bits/char, RMSE, the data's units)."""
        return means

    def check(self, data: Datasets, config: Config) -> None:
        """Raise a :class:`SetupError` where this data cannot train with these settings."""

    def tokens_per_sample(self, data: Datasets) -> int:
        """Tokens in a sample, for tokens/s (0: not a sequence of tokens)."""
        return 0

    def confusion(self, data: Datasets, device: torch.device) -> torch.Tensor | None:
        """An empty confusion matrix (true class × predicted class) for the test score, or None."""
        return None

    def report(self, model: nn.Module, data: Datasets, precision: Precision, device: torch.device) -> dict:
        """What the summary says besides the metrics (a forecast's values)."""
        return {}

    def not_learning(self, summary: dict, data: Datasets) -> list[str]:
        """Warnings when a finished run's scores are those of a model that learnt nothing."""
        return []


class Classification(Task):
    """Cross-entropy; with ``tricks.label_smoothing`` the training loss aims at 1 - ε for the
    true class. Validation and test losses stay plain cross-entropy, so runs with and without
    smoothing compare on the same scale."""

    name = "classification"
    metrics = ("accuracy",)
    monitor = "val_loss"  # what early stopping watches by default
    headline, headline_mode = "accuracy", "max"

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target, label_smoothing=self.label_smoothing)

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        return [F.cross_entropy(output.float(), target, reduction="sum"), (output.argmax(1) == target).sum()]

    def confusion(self, data: Datasets, device: torch.device) -> torch.Tensor:
        k = data.spec.num_classes
        return torch.zeros(k, k, dtype=torch.long, device=device)

    def not_learning(self, summary: dict, data: Datasets) -> list[str]:
        return classifier_not_learning(summary, data)


class LanguageModelling(Task):
    """Next-character prediction: cross-entropy over every position of every sequence. Reported
    per character: the loss in nats, ``bits_per_char`` (the loss over ln 2) and ``perplexity``
    (e to the loss), both derived from the mean loss."""

    name = "language_modelling"
    metrics = ("bits_per_char", "perplexity")
    monitor = "val_bits_per_char"
    headline, headline_mode = "bits_per_char", "min"

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1),
                               label_smoothing=self.label_smoothing)

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Each sequence's mean loss per character, summed: over the split, the mean per character."""
        total = F.cross_entropy(output.float().reshape(-1, output.shape[-1]), target.reshape(-1), reduction="sum")
        return [total / target.shape[1]]

    sum_names = ("loss",)

    def check(self, data: Datasets, config: Config) -> None:
        if len(data.train) < config.train.batch_size:
            raise SetupError(f"data.path: {data.spec.source} gives {len(data.train):,} training "
                             f"sequences of {config.data.seq_len} characters, fewer than one batch (train.batch_size "
                             f"= {config.train.batch_size}): give more text, or lower data.seq_len or train.batch_size")

    def tokens_per_sample(self, data: Datasets) -> int:
        return data.spec.input_shape[-1]

    def not_learning(self, summary: dict, data: Datasets) -> list[str]:
        return language_model_not_learning(summary)

    def finish(self, means: dict[str, float]) -> dict[str, float]:
        """Bits per character and perplexity are functions of the mean loss, not sums over samples."""
        loss = means["loss"]
        return {"loss": loss, "bits_per_char": loss / math.log(2), "perplexity": math.exp(min(loss, 700.0))}


class Regression(Task):
    """Forecasting values: MSE or MAE (``train.loss``) on the model's targets, which the data
    scaled (see :mod:`tui_trainer.data.series`). The metrics are in the data's own units:
    ``mae``, ``rmse``, ``mase`` (MAE over the in-sample seasonal-naive MAE of the training
    period), and the MAE at the first and the last step of the horizon."""

    name = "regression"
    headline, headline_mode = "mae", "min"
    monitor = "val_mae"
    sum_names = ("loss", "abs", "square", "first", "last")

    def __init__(self, loss: str = "mse", scale: float = 1.0, mase_scale: float | None = 1.0, horizon: int = 1):
        self.mse = loss == "mse"
        self.scale, self.mase_scale, self.horizon = scale, mase_scale, horizon  # mase_scale None: not a series, no MASE
        self.metrics = (("mae", "rmse") + (("mase",) if mase_scale else ()) + ("mae_h1",)
                        + ((f"mae_h{horizon}",) if horizon > 1 else ()))

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float(), target) if self.mse else F.l1_loss(output.float(), target)

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        err = output.float() - target
        square, absolute = err.square(), err.abs()
        return [(square if self.mse else absolute).mean(1).sum(), absolute.mean(1).sum(), square.mean(1).sum(),
                absolute[:, 0].sum(), absolute[:, -1].sum()]

    def finish(self, means: dict[str, float]) -> dict[str, float]:
        mae = means["abs"] * self.scale
        out = {"loss": means["loss"], "mae": mae, "rmse": math.sqrt(means["square"]) * self.scale,
               "mae_h1": means["first"] * self.scale}
        if self.mase_scale:
            out["mase"] = mae / self.mase_scale
        if self.horizon > 1:
            out[f"mae_h{self.horizon}"] = means["last"] * self.scale
        return out


    @torch.no_grad()
    def report(self, model: nn.Module, data: Datasets, precision: Precision, device: torch.device) -> dict:
        """The test period's forecasts in the data's units, for ``summary.json`` and the plots:
        the actual values (with two seasons before, for context) and the predictions at the
        first and the last step of the horizon, each aligned to the values it predicts."""
        t = data.targets
        if not t.get("test_origins"):
            return {}
        was_training = model.training
        model.eval()
        outputs = []
        for x, _ in data.test.batches(EVAL_BATCH):
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
                outputs.append(model(x).float())
        model.train(was_training)
        values, origins, h = t["values"], t["test_origins"], self.horizon
        predicted = torch.cat(outputs).cpu().double() * self.scale
        offsets = torch.tensor([t["mean"] if t["offset"] == "mean" else values[o] for o in origins],
                               dtype=torch.float64)
        predicted += offsets[:, None]
        lo = max(0, origins[0] + 1 - 24)
        steps = {"1": 0, str(h): h - 1}
        return {"forecast": {"column": t.get("column", ""), "horizon": h, "dates": t["dates"][lo:],
                             "actual": values[lo:],
                             "predicted": {k: {"start": origins[0] + 1 + i - lo,
                                               "values": predicted[:, i].tolist()} for k, i in steps.items()}}}


TASKS: dict[str, type] = {"classification": Classification, "language_modelling": LanguageModelling,
                          "regression": Regression}


def task_for(name: str, config: Config, targets: dict | None = None) -> Task:
    """The task of a dataset, after checking that what the preset monitors exists for it.
    ``targets``: what the data says of its targets (a regression's scale, see ``Datasets.targets``)."""
    smoothing = config.tricks.label_smoothing
    if name == "regression":
        t = targets or {}
        task = Regression(config.train.loss, t.get("scale", 1.0), t.get("mase_scale"), t.get("horizon", 1))
    else:
        task = TASKS[name](smoothing.epsilon if smoothing.enabled else 0.0)
    known = ["val_loss", *(f"val_{m}" for m in task.metrics)]
    watched = [("tricks.early_stopping.monitor", config.tricks.early_stopping.monitor)]
    if config.tricks.lr_schedule.enabled and SCHEDULES[config.tricks.lr_schedule.kind].watches:
        watched.append(("tricks.lr_schedule.monitor", config.tricks.lr_schedule.monitor))
    for key, monitor in watched:
        if monitor != "auto" and monitor not in known:
            raise SetupError(f"{key}: {config.data.dataset} is a {task.name} task without "
                             f"{monitor!r}; choose {' or '.join(known)}")
    return task


def input_pipeline(data: Datasets, config: Config) -> InputPipeline:
    """The per-batch input steps, after checking that ``tricks.augment`` can apply to this data."""
    augment = config.tricks.augment
    if not augment.enabled:
        return data.pipeline()
    if len(data.spec.input_shape) != 3:
        raise SetupError("tricks.augment: random crops and flips are for images; "
                         f"{config.data.dataset} has samples of shape {data.spec.shape_text}; switch it off")
    return data.pipeline(augment.crop_padding, augment.flip and not data.spec.no_flip)


def flip_note(data: Datasets | None, config: Config) -> str:
    """Why ``tricks.augment.flip`` is not applied to this data, or ""."""
    augment = config.tricks.augment
    if data is None or not (augment.enabled and augment.flip and data.spec.no_flip):
        return ""
    return f"augment: no flips for {data.spec.name} ({data.spec.no_flip})"


@torch.no_grad()
def evaluate(model: nn.Module, split: Split | StreamedSplit, task: Task, precision: Precision, device: torch.device,
             prefix: str, inputs: InputPipeline | None = None, confusion: torch.Tensor | None = None,
             part: tuple[int, int] | None = None,
             reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
    """The mean loss and metrics over a split, in eval mode, fetched in one transfer:
    ``{prefix}_loss`` and ``{prefix}_<metric>``. ``confusion`` (classes × classes, on the
    device) gains a count per (true class, predicted class). Several processes: each scores
    its ``part`` ``[lo, hi)`` of the split and ``reduce`` sums the sums (and ``confusion``) over them."""
    was_training = model.training
    model.eval()
    totals: list[torch.Tensor] = []
    names = task.sum_names
    lo, hi = part or (0, len(split))
    order = torch.arange(lo, hi, device=device) if part is not None else None
    for x, y in split.batches(EVAL_BATCH, order, 0, eval_steps(hi - lo, EVAL_BATCH)):
        if inputs is not None:
            x = inputs.prepare(x)
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
            output = model(x)
        if confusion is not None:
            k = confusion.shape[0]
            confusion += torch.bincount(y * k + output.argmax(1), minlength=k * k).reshape(k, k)
        sums = task.sums(output, y)
        if totals:
            for total, value in zip(totals, sums):
                total += value
        else:
            totals = [torch.zeros((), device=device, dtype=value.dtype) + value for value in sums]
    model.train(was_training)
    values = torch.stack([t.to(totals[0].dtype) for t in totals]) if totals else torch.zeros(len(names), device=device)
    if reduce is not None:
        values = reduce(values)
        if confusion is not None:
            reduce(confusion)
    values = values.tolist()
    means = {name: value / len(split) for name, value in zip(names, values)}
    means = task.finish(means)  # metrics that are functions of the means (bits/char, RMSE, units)
    return {f"{prefix}_{name}": value for name, value in means.items()}
