"""Reading checkpoints back, safely: ``torch.load(weights_only=True)`` only.

A ``.pt`` file is a pickle; one that holds arbitrary Python objects could run code when
loaded. tui-trainer writes only tensors and plain data, so anything else is refused.
Which files of a run folder a resume reads is the run folder's business
(:func:`tui_trainer.runs.resume.load_resume`).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError


class CheckpointError(UserError):
    """A checkpoint or run folder that cannot be used."""


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is damaged or foreign
        raise CheckpointError(f"{path}: unreadable or corrupt checkpoint (not a torch.save archive)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: refused: it holds Python objects other than tensors and plain data "
            "(tui-trainer never writes those; loading it could run arbitrary code)"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable or corrupt checkpoint "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a tui-trainer checkpoint (no model state)")
    return state
