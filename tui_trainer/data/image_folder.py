"""The user's own pictures: ``data.path`` holds one sub-folder of images per class, as for
torchvision's ``ImageFolder``.

Every image is decoded once (Pillow, on a thread per core: its decoders and resampling
release the GIL), centre-cropped to a square, resized to ``data.image_size`` and converted to
RGB or grayscale, straight into a memory-mapped ``.npy`` file. The cache is keyed by the
folder's listing (each file's path, size and modification time) and the settings, so a
changed folder is decoded again. A file that cannot be decoded is named and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import DataConfig
from .arrays import Arrays, read_cache
from .cache import cache_dir
from .spec import DatasetError, DataSpec, Progress

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1  # bump when the decoding changes, so old caches are not reused


def folder(config: DataConfig) -> Path:
    if not config.path:
        raise DatasetError('data.path: set it to a folder with one sub-folder of images per class '
                           '(data.dataset = "image_folder")')
    path = Path(config.path).expanduser()
    if not path.exists():
        raise DatasetError(f"data.path: {path} does not exist; give a folder with one sub-folder of images per class")
    if not path.is_dir():
        hint = ' (for a .npz file use data.dataset = "npz")' if path.suffix == ".npz" else ""
        raise DatasetError(f"data.path: {path} is not a folder; image_folder wants one "
                           f"sub-folder of images per class{hint}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise DatasetError(f"data.path: {path} cannot be read (permission denied)")
    return path


def scan(config: DataConfig) -> tuple[Path, list[str], list[tuple[str, int]]]:
    """The folder, its class names (sorted) and its files as ``(path relative to it, class index)``."""
    root = folder(config)
    classes, files = [], []
    for entry in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = []
        for base, dirs, names in os.walk(entry, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [os.path.relpath(os.path.join(base, n), root) for n in sorted(names) if not n.startswith(".")]
        if found:
            files += [(rel, len(classes)) for rel in found]
            classes.append(entry.name)
    if not files:
        raise DatasetError(f"data.path: {root} has no images in sub-folders; put each class's images in a "
                           "sub-folder named after the class")
    if len(classes) == 1:
        raise DatasetError(f"data.path: {root} has one class ({classes[0]}); a classifier needs at "
                           "least two sub-folders of images")
    return root, classes, files


def channels(config: DataConfig) -> int:
    return 3 if config.color == "rgb" else 1


def spec(config: DataConfig) -> DataSpec:
    root, classes, files = scan(config)
    return DataSpec("image_folder", (channels(config), config.image_size, config.image_size), len(classes),
                    train_size=len(files), images=True, classes=tuple(classes), source=f"your images in {root}")


def cache_key(root: Path, files: list[tuple[str, int]], config: DataConfig) -> str:
    digest = hashlib.sha256(json.dumps([FORMAT, str(root.resolve()), config.image_size, config.color]).encode())
    for rel, label in files:
        st = os.stat(root / rel)
        digest.update(f"{rel}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def state(config: DataConfig) -> str:
    try:
        root, _, files = scan(config)
    except DatasetError as exc:
        return str(exc)
    done = (cache_dir() / "arrays" / f"folder-{cache_key(root, files, config)}" / "meta.json").exists()
    return "decoded, cached" if done else f"{len(files):,} files, decoded on first use"


def _decode(path: Path, size: int, mode: str) -> np.ndarray:
    import numpy as np

    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.draft(mode, (size, size))  # JPEG: decode at a reduced scale when it is much larger
        picture = ImageOps.fit(image.convert(mode), (size, size), Image.Resampling.BILINEAR)
        array = np.asarray(picture, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    root, classes, files = scan(config)
    target = cache_dir() / "arrays" / f"folder-{cache_key(root, files, config)}"
    cached = read_cache(target)
    if cached is None:
        _decode_all(root, classes, files, config, target, progress)
        cached = read_cache(target)
    meta = json.loads((target / "meta.json").read_text())
    cached.notes = tuple(meta.get("skipped", ()))
    return cached


def _decode_all(root: Path, classes: list[str], files: list[tuple[str, int]], config: DataConfig, target: Path,
                progress: Progress) -> None:
    import numpy as np

    try:
        import PIL  # noqa: F401  (comes with torchvision)
    except ImportError:
        raise DatasetError("image_folder needs Pillow, which comes with torchvision; run "
                           "the README's set-up (make run)") from None
    size, mode, n = config.image_size, "RGB" if config.color == "rgb" else "L", len(files)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        x = np.lib.format.open_memmap(tmp / "all.npy", mode="w+", dtype=np.uint8,
                                      shape=(n, channels(config), size, size))
        ok = np.zeros(n, dtype=bool)
        skipped = []

        def work(i: int) -> tuple[int, str | None]:
            try:
                x[i] = _decode(root / files[i][0], size, mode)
                return i, None
            except Exception as exc:  # any decoder failure: the file is named and skipped
                return i, f"{files[i][0]}: {type(exc).__name__}: {exc}".splitlines()[0][:200]

        step = max(1, n // 100)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for done, (i, error) in enumerate(pool.map(work, range(n)), 1):
                if error is None:
                    ok[i] = True
                else:
                    skipped.append(error)
                if done % step == 0 or done == n:
                    progress(f"decoding {n:,} images", done, n)
        keep = np.flatnonzero(ok)
        labels = np.array([label for _, label in files], dtype=np.int64)[keep]
        if len(np.unique(labels)) < 2:
            raise DatasetError(f"data.path: {root}: no two classes with an image that can be decoded "
                               f"({len(skipped)} of {n} files failed, e.g. {skipped[0] if skipped else '-'})")
        if len(keep) < n:  # move the good rows together, a block at a time (the file may not fit in memory)
            kept = np.lib.format.open_memmap(tmp / "x.npy", mode="w+", dtype=np.uint8, shape=(len(keep), *x.shape[1:]))
            for start in range(0, len(keep), 4096):
                kept[start : start + 4096] = x[keep[start : start + 4096]]
            kept.flush()
        x.flush()
        os.replace(tmp / "all.npy", tmp / "x.npy") if len(keep) == n else os.unlink(tmp / "all.npy")
        np.save(tmp / "y.npy", labels)
        (tmp / "meta.json").write_text(json.dumps({"classes": classes, "skipped": skipped}))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
