"""MNIST-1D, generated offline by the ``mnist1d`` package and cached as ``.npz``.

Generating takes about 6 s (the package imports matplotlib), longer than training
the CNN, so the arrays are generated once and cached under :func:`cache_dir`,
keyed by the generator's arguments. The cache is plain ``.npz`` (never pickle) and
is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write
from ..config.schema import DataConfig
from .arrays import Arrays
from .cache import cache_dir
from .spec import DatasetError, DataSpec, Progress

if TYPE_CHECKING:
    import numpy as np

#: The generator's defaults (``mnist1d.data.get_dataset_args()``), without the download URL:
#: 5,000 sequences of 40 steps, 4,000 for training and 1,000 for test.
GENERATOR_ARGS = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}

ARRAYS = ("x", "y", "x_test", "y_test")

SPEC = DataSpec("mnist1d", (1, 40), 10, "classification", train_size=4000, test_size=1000,
                classes=tuple(str(d) for d in range(10)),
                source="generated offline by the mnist1d package (Greydanus 2020)")


def spec(config: DataConfig) -> DataSpec:
    return SPEC


def state(config: DataConfig) -> str:
    return "cached" if cache_path().exists() else "generated on first use, 6 s"


def cache_path(args: dict = GENERATOR_ARGS) -> Path:
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"mnist1d-{key}.npz"


def generate(args: dict = GENERATOR_ARGS) -> dict[str, np.ndarray]:
    import numpy as np

    try:
        from mnist1d.data import make_dataset
        from mnist1d.utils import ObjectView
    except ImportError as exc:  # pragma: no cover - mnist1d is a dependency
        raise DatasetError(f"the mnist1d package is missing ({exc}); run the README's "
                           "set-up (make test or make run)") from None
    data = make_dataset(ObjectView(dict(args)))
    return {
        "x": data["x"].astype(np.float32),
        "y": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }


def read_npz(path: Path) -> dict[str, np.ndarray]:
    import numpy as np

    with np.load(path, allow_pickle=False) as npz:
        missing = [name for name in ARRAYS if name not in npz.files]
        if missing:
            raise DatasetError(f"{path}: not an MNIST-1D cache (missing {', '.join(missing)}); delete it to regenerate")
        arrays = {name: npz[name] for name in ARRAYS}
    x, y, x_test, y_test = (arrays[name] for name in ("x", "y", "x_test", "y_test"))
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x_test.shape[0] != y_test.shape[0]:
        raise DatasetError(f"{path}: arrays have inconsistent shapes; delete it to regenerate")
    return arrays


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    """What :func:`tui_trainer.data.load_data` splits: sequences of one channel."""
    arrays = load()
    return Arrays(arrays["x"][:, None], arrays["y"], arrays["x_test"][:, None], arrays["y_test"], SPEC.classes)


def load(args: dict = GENERATOR_ARGS) -> dict[str, np.ndarray]:
    """The arrays from the cache, generating and caching them on first use."""
    import numpy as np

    path = cache_path(args)
    if path.exists():
        try:
            return read_npz(path)
        except (OSError, ValueError, EOFError) as exc:
            raise DatasetError(f"{path}: unreadable cache ({exc}); delete it to regenerate") from None
    arrays = generate(args)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda handle: np.savez(handle, **arrays))
    except OSError:
        pass  # an unwritable cache only costs the next run the generation time
    return arrays
