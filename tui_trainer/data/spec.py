"""What a dataset looks like, known without loading it, and its error (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


class DatasetError(UserError):
    """The dataset cannot be produced or read; the message says what to do."""


@dataclass(frozen=True)
class DataSpec:
    name: str
    input_shape: tuple[int, ...]  # per sample, channels first: (1, 40) for MNIST-1D
    num_classes: int
    task: str = "classification"  # a key of tui_trainer.engine.task.TASKS
    train_size: int = 0  # before the validation split is carved out of it
    test_size: int = 0
