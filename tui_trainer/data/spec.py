"""What a dataset looks like, known without loading it, and its error (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UserError

#: ``progress(label, done, total)``: a download or a decode moving on; ``total`` is None when unknown.
Progress = Callable[[str, int, "int | None"], None]


def no_progress(label: str, done: int, total: int | None) -> None:
    pass


class DatasetError(UserError):
    """The dataset cannot be produced or read; the message says what to do."""


@dataclass(frozen=True)
class TaskKind:
    """What a dataset asks to be learnt, as the data, the models and the screens ask it (the loss
    and the metrics are :mod:`tui_trainer.engine.task`'s). Code asks these, never the task's name."""

    name: str  # a key of tui_trainer.engine.task.TASKS
    classifies: bool = False  # y holds class indices: accuracy, a confusion matrix, pictures per class
    values: bool = False  # y holds real values to predict (a forecast's horizon), as floats
    per_position: bool = False  # a language model: a prediction (the next token) at every position

    @property
    def words(self) -> str:
        return self.name.replace("_", " ")


TASK_KINDS = {kind.name: kind for kind in (TaskKind("classification", classifies=True),
                                           TaskKind("regression", values=True),
                                           TaskKind("language_modelling", per_position=True))}


@dataclass(frozen=True)
class DataSpec:
    name: str
    input_shape: tuple[int, ...]  # per sample, channels first: (1, 40) for MNIST-1D, (3, 32, 32) for CIFAR-10
    num_classes: int  # 0: known once the data is read (a user's folder)
    task: str = "classification"  # a key of tui_trainer.engine.task.TASKS
    train_size: int = 0  # before the validation split is carved out of it; 0: known once read
    test_size: int = 0
    val_size: int = 0  # a validation split of its own (within train_size); 0: carved out by data.val_fraction
    classes: tuple[str, ...] = ()
    #: uint8 pixels, normalised per batch on the device with the training split's mean and std
    images: bool = False
    #: why a horizontal flip would be wrong for this data ("" where it is fine)
    no_flip: str = ""
    #: where the data comes from, for the info panel and ``presets list``
    source: str = ""

    @property
    def kind(self) -> TaskKind:
        """What its task asks of a model and of the data."""
        return TASK_KINDS[self.task]

    @property
    def shape_text(self) -> str:
        return "×".join(str(d) for d in self.input_shape)
