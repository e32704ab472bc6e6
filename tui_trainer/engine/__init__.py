"""The training engine: the loop, the tricks, the events it emits and the control it obeys.

Importing this package does not import torch; ``Trainer`` and friends load on first use.
"""

from __future__ import annotations

from typing import Any

from .control import Control

_LAZY = {
    "Trainer": ".trainer",
    "RunResult": ".trainer",
    "SetupError": ".precision",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)


__all__ = ["Control", "RunResult", "SetupError", "Trainer"]
