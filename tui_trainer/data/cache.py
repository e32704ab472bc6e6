"""Where generated datasets are cached: ``$TUI_TRAINER_CACHE``, else ``$XDG_CACHE_HOME/tui-trainer``,
else ``~/.cache/tui-trainer``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("TUI_TRAINER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tui-trainer"
