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
    def shape_text(self) -> str:
        return "×".join(str(d) for d in self.input_shape)
