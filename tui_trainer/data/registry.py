"""The datasets by name, and what each says of itself before any sample is read: its spec
(shape, classes, task, sizes) and its state (downloaded, cached). No torch here: ``presets list``
and the CLI's checks read it in a blink.

A dataset is a module (or object) with ``spec(config) -> DataSpec``, ``state(config)`` (whether
it is downloaded or cached, for the info panel) and ``load_arrays(config, progress) -> Arrays``,
plus one line in :data:`DATASETS`; the config's ``data.dataset`` choices name the same datasets.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..config.schema import DataConfig
from ..usercode import plugins
from . import digits, image_folder, mnist1d, npz, python, series, text
from .arrays import Arrays
from .spec import DatasetError, DataSpec, Progress
from .vision import CIFAR10, FASHION_MNIST, MNIST


class Source(Protocol):
    def spec(self, config: DataConfig) -> DataSpec: ...
    def state(self, config: DataConfig) -> str: ...
    def load_arrays(self, config: DataConfig, progress: Progress) -> Arrays: ...


DATASETS: dict[str, Any] = {
    "mnist1d": mnist1d,
    "digits": digits,
    "mnist": MNIST,
    "fashion_mnist": FASHION_MNIST,
    "cifar10": CIFAR10,
    "image_folder": image_folder,
    "npz": npz,
    "text": text,
    "series": series,
    "python": python,  # the user's own: data.python.loader
}

def _source(name: str) -> Any:
    if name not in DATASETS and name in plugins.names("datasets"):
        return python  # an installed plugin's dataset: a loader, as data.python.loader names one
    if name not in DATASETS:
        from difflib import get_close_matches

        close = get_close_matches(name, DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DatasetError(f"data.dataset: unknown dataset {name!r}{hint} (available: {', '.join(DATASETS)})")
    return DATASETS[name]


def dataset_spec(config: DataConfig | str) -> DataSpec:
    """What the dataset looks like; a user's folder or file is looked at (not decoded)."""
    if isinstance(config, str):
        config = DataConfig(dataset=config)
    return _source(config.dataset).spec(config)


def dataset_state(config: DataConfig) -> str:
    return _source(config.dataset).state(config)
