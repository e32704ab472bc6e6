"""The 8×8 handwritten digits that ship with scikit-learn: 1,797 real images, 10 classes, offline.

The file ``files/digits.csv.gz`` (57 KB) is scikit-learn's own copy of the test set of the UCI
"Optical Recognition of Handwritten Digits" data (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0),
shipped here with its attribution (``files/DIGITS.txt``) rather than making scikit-learn and
SciPy (about 150 MB) a dependency for one small file. Each row is 64 pixel counts 0..16 and
the label; pixels are scaled to 0..255 so they travel as uint8 like every other image.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from ..config.schema import DataConfig
from .arrays import Arrays
from .spec import DataSpec, Progress
from .vision import DIGIT_FLIP

FILE = Path(__file__).parent / "files" / "digits.csv.gz"

SPEC = DataSpec("digits", (1, 8, 8), 10, train_size=1797, test_size=0, images=True, no_flip=DIGIT_FLIP,
                classes=tuple(str(d) for d in range(10)),
                source="UCI optical digits, 8×8, the copy shipped with scikit-learn (in the package)")


def spec(config: DataConfig) -> DataSpec:
    return SPEC


def state(config: DataConfig) -> str:
    return "in the package"


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    import numpy as np

    with gzip.open(FILE, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    pixels = np.rint(table[:, :64] * (255 / 16)).astype(np.uint8).reshape(-1, 1, 8, 8)
    return Arrays(pixels, table[:, 64].copy(), classes=SPEC.classes)
