"""Arrays of the user's own: a ``.npz`` file with ``x`` and ``y`` (and optionally ``x_test``,
``y_test``), read with ``allow_pickle=False``.

``x`` is ``(N, H, W)`` (grayscale), ``(N, H, W, C)`` or ``(N, C, H, W)`` with C of 1 or 3
(images: uint8 pixels, or floats), or ``(N, L)`` (sequences of one channel, float).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import DataConfig
from .arrays import Arrays, check_arrays
from .spec import DatasetError, DataSpec, Progress

if TYPE_CHECKING:
    import numpy as np


def _path(config: DataConfig) -> Path:
    if not config.path:
        raise DatasetError('data.path: set it to a .npz file with arrays x and y (data.dataset = "npz")')
    path = Path(config.path).expanduser()
    if not path.is_file():
        raise DatasetError(f"data.path: {path} {'is a folder' if path.is_dir() else 'does not exist'}; give a "
                           ".npz file with arrays x and y")
    return path


def _open(path: Path):
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"data.path: {path} is not a readable .npz file ({exc})") from None


def _channels_first(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    if x.ndim in (2, 3):
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return x.transpose(0, 3, 1, 2)
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    raise DatasetError(f"data.path: {path}: {name} has shape {x.shape}; give (N, L), (N, H, W), (N, H, W, C) or "
                       "(N, C, H, W) with C of 1 or 3")


def _pixels(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    import numpy as np

    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        return np.ascontiguousarray(x, dtype=np.float32)
    raise DatasetError(f"data.path: {path}: {name} has dtype {x.dtype}; give uint8 pixels or numbers")


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    import numpy as np

    path = _path(config)
    with _open(path) as npz:
        missing = [name for name in ("x", "y") if name not in npz.files]
        if missing:
            raise DatasetError(f"data.path: {path} has no array {' or '.join(missing)} (found: "
                               f"{', '.join(npz.files) or 'none'})")
        if ("x_test" in npz.files) != ("y_test" in npz.files):
            raise DatasetError(f"data.path: {path} has only one of x_test and y_test; give both or neither")
        try:
            found = {name: npz[name] for name in ("x", "y", "x_test", "y_test") if name in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DatasetError(f"data.path: {path} cannot be read ({exc})") from None
    x = _pixels(_channels_first(found["x"], path, "x"), path, "x")
    x_test = found.get("x_test")
    if x_test is not None:
        x_test = _pixels(_channels_first(x_test, path, "x_test"), path, "x_test").astype(x.dtype, copy=False)
    y_test = found.get("y_test")
    arrays = Arrays(x, found["y"].reshape(-1), x_test, None if y_test is None else y_test.reshape(-1))
    check_arrays(arrays, f"data.path: {path}")
    arrays.y = arrays.y.astype(np.int64)
    if arrays.y_test is not None:
        arrays.y_test = arrays.y_test.astype(np.int64)
    n_classes = int(max(arrays.y.max(),
                        arrays.y_test.max() if arrays.y_test is not None and len(arrays.y_test) else 0)) + 1
    arrays.classes = tuple(str(c) for c in range(n_classes))
    return arrays


def _shape(path: Path, name: str) -> tuple[int, ...]:
    """The shape of ``name`` in the npz file, from its header only (the arrays may be large)."""
    import numpy as np

    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{name}.npy") as handle:
            version = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"data.path: {path} has no readable array {name} ({exc})") from None
    if dtype.hasobject:
        raise DatasetError(f"data.path: {path}: {name} cannot be read: it holds Python "
                           "objects, which only pickle can load (never done here); save plain number arrays")
    return tuple(shape)


def spec(config: DataConfig) -> DataSpec:
    """Shapes from the headers, classes from the labels: without reading the images."""
    import numpy as np

    path = _path(config)
    with _open(path) as npz:
        if "y" not in npz.files:
            raise DatasetError(f"data.path: {path} has no array y (found: {', '.join(npz.files) or 'none'})")
        labels = [npz["y"].reshape(-1)] + ([npz["y_test"].reshape(-1)] if "y_test" in npz.files else [])
    shape = _shape(path, "x")
    per_sample = _channels_first(np.empty((0, *shape[1:]), dtype=np.uint8), path, "x").shape[1:]  # the one layout rule
    n_classes = int(max(int(y.max()) if len(y) else 0 for y in labels)) + 1
    return DataSpec("npz", tuple(per_sample), n_classes, train_size=shape[0],
                    test_size=_shape(path, "x_test")[0] if len(labels) > 1 else 0, images=len(per_sample) == 3,
                    classes=tuple(str(c) for c in range(n_classes)), source=f"arrays in {path}")


def state(config: DataConfig) -> str:
    return "read on use"
