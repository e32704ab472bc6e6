"""Fetch a file with progress and a checksum, all or nothing.

The bytes go to ``<name>.part`` beside the target and are renamed into place only once
their MD5 matches, so an interrupted or failed download leaves nothing that looks complete.
Integrity is checked with torchvision's own ``check_integrity`` and the MD5s its dataset
classes carry.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from .spec import DatasetError, Progress

CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, md5: str, dataset: str, url: str) -> None:
    """Raise a one-line :class:`DatasetError` when ``path`` does not have the expected MD5."""
    found = md5_of(path)
    if found != md5:
        raise DatasetError(
            f"{dataset}: {path} is damaged or not the expected file (MD5 {found}, expected "
            f"{md5}; a truncated download?): delete it and run again, or replace it with {url}"
        )


def fetch(urls: list[str], target: Path, md5: str, dataset: str, progress: Progress, timeout: float = 30.0) -> None:
    """Download ``target`` from the first of ``urls`` that answers, checking its MD5."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                done = 0
                progress(f"downloading {target.name}", 0, total)
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    done += len(block)
                    progress(f"downloading {target.name}", done, total)
            if md5_of(part) != md5:
                errors.append(f"{url}: checksum mismatch")
                continue
            os.replace(part, target)
            return
        except (OSError, ValueError) as exc:  # URLError, timeouts and HTTP errors are OSErrors
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
        finally:
            if part.exists():
                part.unlink()
    raise DatasetError(
        f"{dataset}: could not download {target.name} ({'; '.join(errors)}); on a machine without network, "
        f"put {urls[0]} (MD5 {md5}) at {target} and run again"
    )
