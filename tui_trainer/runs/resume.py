"""What a resume reads from a run folder: its config, ``last.pt`` and ``best.pt``, after
checking that the run can be resumed at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import ConfigError, load_config
from ..config.schema import Config
from ..engine.checkpoint import CheckpointError, load_checkpoint
from .folder import BEST, CONFIG, LAST, SUMMARY

#: Statuses a run can be resumed from; the others have nothing left to train.
RESUMABLE = ("stopped", "failed", "pruned")


def load_resume(run_dir: Path | str) -> tuple[Config, dict[str, Any], dict[str, Any] | None]:
    """The config, ``last.pt`` and ``best.pt`` (or None) of a run folder to resume."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"{run}: no such run folder")
    try:
        config = load_config(run / CONFIG)
    except ConfigError as exc:
        raise CheckpointError(f"cannot resume {run}: {exc}") from None
    summary_path = run / SUMMARY
    if summary_path.exists():
        try:
            status = json.loads(summary_path.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{summary_path}: unreadable ({exc})") from None
        if status not in RESUMABLE:
            what = ("diverged: its weights are not finite; start again with a lower lr, clipping or a warm-up"
                    if status == "diverged" else f"{status}: there is nothing left to train")
            raise CheckpointError(f"cannot resume {run}: the run {what}")
    if not (run / LAST).exists():
        raise CheckpointError(f"cannot resume {run}: it has no {LAST} (it ended before its "
                              "first checkpoint); start it again")
    last = load_checkpoint(run / LAST)
    if "optimizer" not in last or "rng" not in last:
        raise CheckpointError(f"{run / LAST}: not a resumable checkpoint (no optimizer or RNG state)")
    best = load_checkpoint(run / BEST) if (run / BEST).exists() else None
    return config, last, best
