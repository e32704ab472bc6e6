"""CIFAR-10, MNIST and Fashion-MNIST through torchvision.

torchvision's dataset classes know the files, their MD5s and their on-disk formats
(CIFAR-10's pickled python batches, the IDX files); we fetch the files ourselves so that
the download shows progress, is checked before it is used, and fails with one line that
says which file to put where. Once read, the images are kept as a ``.npy`` cache
(:mod:`.arrays`), which later runs map without touching torchvision.

Layout under the cache folder: ``torchvision/`` is torchvision's own ``root``
(``cifar-10-python.tar.gz``, ``cifar-10-batches-py/``, ``MNIST/raw/``, ``FashionMNIST/raw/``);
``arrays/<name>/`` holds the decoded arrays.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import DataConfig
from .arrays import Arrays, read_cache, write_cache
from .cache import cache_dir
from .download import fetch, verify
from .spec import DatasetError, DataSpec, Progress

if TYPE_CHECKING:
    import numpy as np

DIGIT_FLIP = "a mirrored digit is another symbol or none"


def torchvision_root() -> Path:
    return cache_dir() / "torchvision"


def _torchvision():
    try:
        import torchvision.datasets as datasets
    except ImportError as exc:
        raise DatasetError(f"torchvision is missing or does not match torch ({exc}); run "
                           "the README's set-up (make run)") from None
    return datasets


@dataclass(frozen=True)
class VisionDataset:
    SPEC: DataSpec
    cls: str  # the torchvision class
    download_mb: int

    @property
    def arrays_dir(self) -> Path:
        return cache_dir() / "arrays" / self.SPEC.name

    def spec(self, config: DataConfig) -> DataSpec:
        return self.SPEC

    def state(self, config: DataConfig) -> str:
        if (self.arrays_dir / "meta.json").exists():
            return "cached"
        if any(torchvision_root().glob(self._marker)):
            return "downloaded"
        return (f"downloads {self.download_mb} MB on first use" if config.download
                else "not downloaded, data.download is off")

    @property
    def _marker(self) -> str:
        return "cifar-10-*" if self.cls == "CIFAR10" else f"{self.cls}/raw/*"

    def load_arrays(self, config: DataConfig, progress: Progress) -> Arrays:
        import numpy as np

        cached = read_cache(self.arrays_dir)
        if cached is not None:
            return cached
        datasets = _torchvision()
        cls = getattr(datasets, self.cls)
        root = torchvision_root()
        if self.cls == "CIFAR10":
            _ensure_cifar(cls, root, self.SPEC.name, config.download, progress)
        else:
            _ensure_idx(cls, root, self.SPEC.name, config.download, progress)
        progress(f"reading {self.SPEC.name}", 0, None)
        try:
            train, test = cls(str(root), train=True, download=False), cls(str(root), train=False, download=False)
        except (RuntimeError, OSError, ValueError, EOFError) as exc:
            raise DatasetError(f"{self.SPEC.name}: the files under {root} cannot be read ({exc}); "
                               "delete them to download again") from None
        arrays = Arrays(_channels_first(train.data), np.asarray(train.targets, dtype=np.int64),
                        _channels_first(test.data), np.asarray(test.targets, dtype=np.int64), self.SPEC.classes)
        try:
            write_cache(self.arrays_dir, arrays)
        except OSError:
            return arrays  # an unwritable cache only costs the next run the reading
        return read_cache(self.arrays_dir) or arrays


def _channels_first(data) -> np.ndarray:
    import numpy as np

    array = np.asarray(data, dtype=np.uint8)
    return array[:, None] if array.ndim == 3 else np.ascontiguousarray(array.transpose(0, 3, 1, 2))


def _missing(dataset: str, url: str, md5: str, target: Path) -> DatasetError:
    return DatasetError(f"{dataset}: {target.name} is not in the cache and data.download is off; "
                        f"put {url} (MD5 {md5}) at {target} and run again")


def _ensure_cifar(cls, root: Path, name: str, download: bool, progress: Progress) -> None:
    from torchvision.datasets.utils import check_integrity

    def complete() -> bool:
        files = [*cls.train_list, *cls.test_list, (cls.meta["filename"], cls.meta["md5"])]
        return all(check_integrity(str(root / cls.base_folder / f), md5) for f, md5 in files)

    if complete():
        return
    archive = root / cls.filename
    if not archive.exists():
        if not download:
            raise _missing(name, cls.url, cls.tgz_md5, archive)
        fetch([cls.url], archive, cls.tgz_md5, name, progress)
    verify(archive, cls.tgz_md5, name, cls.url)
    progress(f"unpacking {archive.name}", 0, None)
    tmp = root / f".unpack-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        shutil.rmtree(root / cls.base_folder, ignore_errors=True)
        os.replace(tmp / cls.base_folder, root / cls.base_folder)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DatasetError(f"{name}: {archive} cannot be unpacked ({exc}); delete it and run again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not complete():
        raise DatasetError(f"{name}: {archive} does not hold the expected {cls.base_folder}/ "
                           "files; delete it and run again")


def _ensure_idx(cls, root: Path, name: str, download: bool, progress: Progress) -> None:
    raw = root / cls.__name__ / "raw"
    for filename, md5 in cls.resources:
        unpacked = raw / filename.removesuffix(".gz")
        if unpacked.exists():
            continue
        packed = raw / filename
        urls = [f"{mirror}{filename}" for mirror in cls.mirrors]
        if not packed.exists():
            if not download:
                raise _missing(name, urls[0], md5, packed)
            fetch(urls, packed, md5, name, progress)
        verify(packed, md5, name, urls[0])
        part = unpacked.with_name(unpacked.name + ".part")
        try:
            with gzip.open(packed) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(part, unpacked)
        except (OSError, EOFError) as exc:
            part.unlink(missing_ok=True)
            raise DatasetError(f"{name}: {packed} cannot be unpacked ({exc}); delete it and run again") from None


CIFAR10 = VisionDataset(
    DataSpec("cifar10", (3, 32, 32), 10, train_size=50_000, test_size=10_000, images=True,
             classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
             source="CIFAR-10 (Krizhevsky 2009), downloaded by torchvision's file list from www.cs.toronto.edu"),
    "CIFAR10", 163)
MNIST = VisionDataset(
    DataSpec("mnist", (1, 28, 28), 10, train_size=60_000, test_size=10_000, images=True, no_flip=DIGIT_FLIP,
             classes=tuple(str(d) for d in range(10)), source="MNIST (LeCun et al. 1998), "
                                                              "downloaded from torchvision's mirrors"),
    "MNIST", 11)
FASHION_MNIST = VisionDataset(
    DataSpec("fashion_mnist", (1, 28, 28), 10, train_size=60_000, test_size=10_000, images=True,
             classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
             source="Fashion-MNIST (Xiao et al. 2017), downloaded from torchvision's mirror"),
    "FashionMNIST", 30)
