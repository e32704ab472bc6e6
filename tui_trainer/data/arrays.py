"""The arrays a dataset module hands over, and the on-disk cache of decoded images.

The cache is a folder of plain ``.npy`` files (never pickle), written to a temporary
folder and renamed into place, so a crash leaves no half-written cache. Arrays are
opened memory-mapped: a dataset larger than the memory budget streams from them.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .spec import DatasetError

if TYPE_CHECKING:
    import numpy as np

FILES = ("x", "y", "x_test", "y_test")


@dataclass
class Arrays:
    """``x``: (N, *shape) uint8 pixels (channels first) or float32; ``y``: int64 labels.
    ``x_test``/``y_test`` are None when the data has no test split of its own; one is carved out."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    files: Path | None = None  # the cache folder the arrays are mapped from, if any
    notes: tuple[str, ...] = ()  # files skipped, and other warnings for the user
    x_val: np.ndarray | None = None  # a validation split of its own (contiguous text blocks); else one is carved out
    y_val: np.ndarray | None = None
    #: simple predictors to beat, by name, with their scores as the run reports its own:
    #: ``{"bigram": {"val_bits_per_char": 3.44, "test_bits_per_char": 3.41}}``
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    #: regression: how the model's targets map back to the data's units (``scale``), MASE's
    #: denominator, and the series itself for the forecast plot (see ``series.load_arrays``)
    targets: dict[str, Any] = field(default_factory=dict)
    #: text: the training block as one row of character ids, cut anew each epoch (``TextSplit``)
    train_ids: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (self.x, self.x_test, self.x_val) if a is not None))


def write_cache(folder: Path, arrays: Arrays) -> None:
    """Write ``arrays`` as ``folder/{x,y,x_test,y_test}.npy`` and ``meta.json``, all or nothing."""
    import numpy as np

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in FILES:
            value = getattr(arrays, name)
            if value is not None:
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(value), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"classes": list(arrays.classes)}))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_cache(folder: Path) -> Arrays | None:
    """The cached arrays, memory-mapped, or None when there is no complete cache."""
    import numpy as np

    if not (folder / "meta.json").exists():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        found = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                 for name in FILES if (folder / f"{name}.npy").exists()}
        arrays = Arrays(found["x"], np.asarray(found["y"]), found.get("x_test"), found.get("y_test"),
                        tuple(meta.get("classes", ())), folder)
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{folder}: unreadable cache ({exc}); delete the folder to rebuild it") from None
    if arrays.y_test is not None:
        arrays.y_test = np.asarray(arrays.y_test)
    return arrays


def check_arrays(arrays: Arrays, where: str, values: bool = False) -> Arrays:
    """Shapes and labels that training can use, or one line naming what is wrong; ``values``: y holds
    real values to predict (a regression), not class indices."""
    import numpy as np

    x, y = arrays.x, arrays.y
    if x.ndim < 2 or y.ndim not in (1, 2) or x.shape[0] != y.shape[0]:
        raise DatasetError(f"{where}: x has shape {x.shape} and y {y.shape}; x needs one row per label in y")
    if arrays.x_test is not None:
        x_test, y_test = arrays.x_test, arrays.y_test
        if y_test is None or x_test.shape[0] != y_test.shape[0] or x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"{where}: x_test must have the shape of x per sample {x.shape[1:]} "
                               "and one row per label in y_test")
    if values:
        return arrays
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{where}: labels must be integers (class indices), not {y.dtype}")
    if len(y) and y.min() < 0:
        raise DatasetError(f"{where}: labels must be class indices from 0, found {int(y.min())}")
    return arrays
