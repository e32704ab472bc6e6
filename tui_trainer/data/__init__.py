"""The data: datasets by name (:mod:`.registry`, without torch) and loaded as splits on the
training device (:mod:`.datasets`).

Importing this package does not import torch: ``presets list`` and the app's first screen read
the registry; what loads data imports torch on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DATASETS": ".registry", "dataset_spec": ".registry", "dataset_state": ".registry",
    "DataSpec": ".spec", "DatasetError": ".spec", "Progress": ".spec", "no_progress": ".spec",
    "Datasets": ".datasets", "load_data": ".datasets", "split_sizes": ".datasets", "planned_mode": ".datasets",
    "memory_budget": ".datasets", "Split": ".splits", "StreamedSplit": ".splits", "TextSplit": ".splits",
    "InputPipeline": ".pipeline", "Arrays": ".arrays",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
