"""The C allocator, tuned for a training loop (Linux with glibc only).

A training step allocates and frees the same tens of megabytes of tensors every step.
glibc's malloc hands memory freed at the top of the main heap back to the OS as soon as
more than 128 KiB is free, and serves large blocks with ``mmap`` under a threshold that
keeps moving: each step then pays page faults for memory it had a moment ago. Raising
both thresholds keeps that memory mapped. Threads other than the main one allocate from
other arenas and were not affected, which is why training in the app's worker thread was
faster than headless training in the main thread.

``python bench/settings.py allocator`` measures it (separate processes, alternated): on a 2-core
Xeon, the LSTM preset on one thread trained at 3,822 samples/s against 2,952 with glibc as it
is, peak RSS 925 MB against 914. ``TUI_TRAINER_MALLOC=default`` leaves glibc as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum on 64-bit
TRIM_THRESHOLD = 256 << 20

_tuned: bool | None = None


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if they were set."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux") or os.environ.get("TUI_TRAINER_MALLOC") == "default":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned
