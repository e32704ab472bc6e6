"""What a dataset asks to be learnt: the loss, the validation metrics, and what early stopping may watch.

A dataset names its task in its :class:`~tui_trainer.data.DataSpec`; the loop calls the
task's ``loss`` and :func:`evaluate` calls its ``sums``, so a new task (regression, language
modelling) is a class here and one line in :data:`TASKS`, with no ``if`` in the loop.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..data import Split
from .precision import Precision, SetupError

EVAL_BATCH = 1024


class Task(Protocol):
    name: str
    #: Validation metrics besides the loss, as named in events and summaries without the
    #: ``val_`` / ``test_`` prefix.
    metrics: tuple[str, ...]

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean training loss of a batch."""

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Per-batch sums on the device: the summed loss, then one sum per metric."""


class Classification:
    name = "classification"
    metrics = ("accuracy",)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def sums(self, output: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        return [F.cross_entropy(output.float(), target, reduction="sum"), (output.argmax(1) == target).sum()]


TASKS: dict[str, Task] = {"classification": Classification()}


def task_for(name: str, config: Config) -> Task:
    """The task of a dataset, after checking that what the preset monitors exists for it."""
    task = TASKS[name]
    known = ["val_loss", *(f"val_{m}" for m in task.metrics)]
    watched = [("tricks.early_stopping.monitor", config.tricks.early_stopping.monitor)]
    if config.tricks.lr_schedule.enabled and config.tricks.lr_schedule.kind == "plateau":
        watched.append(("tricks.lr_schedule.monitor", config.tricks.lr_schedule.monitor))
    for key, monitor in watched:
        if monitor not in known:
            raise SetupError(f"{key}: {config.data.dataset} is a {task.name} task without {monitor!r}; choose {' or '.join(known)}")
    return task


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, task: Task, precision: Precision, device: torch.device, prefix: str) -> dict[str, float]:
    """The mean loss and metrics over a split, in eval mode, fetched in one transfer:
    ``{prefix}_loss`` and ``{prefix}_<metric>``."""
    was_training = model.training
    model.eval()
    totals: list[torch.Tensor] = []
    for start in range(0, len(split), EVAL_BATCH):
        x, y = split.x[start : start + EVAL_BATCH], split.y[start : start + EVAL_BATCH]
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
            output = model(x)
        sums = task.sums(output, y)
        if totals:
            for total, value in zip(totals, sums):
                total += value
        else:
            totals = [torch.zeros((), device=device, dtype=value.dtype) + value for value in sums]
    model.train(was_training)
    values = torch.stack([t.to(totals[0].dtype) for t in totals]).tolist()
    names = ["loss", *task.metrics]
    return {f"{prefix}_{name}": value / len(split) for name, value in zip(names, values)}
