"""Reading checkpoints back, safely: ``torch.load(weights_only=True)`` only.

A ``.pt`` file is a pickle; one that holds arbitrary Python objects could run code when
loaded. tui-trainer writes only tensors and plain data, so anything else is refused.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..config import ConfigError, load_config
from ..config.schema import Config
from ..errors import UserError

RESUMABLE = ("stopped", "failed")


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
        raise CheckpointError(f"{path}: unreadable or corrupt checkpoint ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a tui-trainer checkpoint (no model state)")
    return state


def load_resume(run_dir: Path | str) -> tuple[Config, dict[str, Any], dict[str, Any] | None]:
    """The config, ``last.pt`` and ``best.pt`` (or None) of a run folder to resume, after
    checking that it can be resumed."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"{run}: no such run folder")
    try:
        config = load_config(run / "config.toml")
    except ConfigError as exc:
        raise CheckpointError(f"cannot resume {run}: {exc}") from None
    summary_path = run / "summary.json"
    if summary_path.exists():
        try:
            status = json.loads(summary_path.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{summary_path}: unreadable ({exc})") from None
        if status not in RESUMABLE:
            what = "diverged: its weights are not finite; start again with a lower lr, clipping or a warm-up" if status == "diverged" else f"{status}: there is nothing left to train"
            raise CheckpointError(f"cannot resume {run}: the run {what}")
    if not (run / "last.pt").exists():
        raise CheckpointError(f"cannot resume {run}: it has no last.pt (it ended before its first checkpoint); start it again")
    last = load_checkpoint(run / "last.pt")
    if "optimizer" not in last or "rng" not in last:
        raise CheckpointError(f"{run / 'last.pt'}: not a resumable checkpoint (no optimizer or RNG state)")
    best = load_checkpoint(run / "best.pt") if (run / "best.pt").exists() else None
    return config, last, best
