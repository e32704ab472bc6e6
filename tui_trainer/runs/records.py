"""Runs as data: what ``runs list``, ``runs show`` and ``runs compare`` print with ``--json``, the
same facts as their tables (a run's id, folder, status, preset, tricks, full settings and
summary), for scripts and notebooks. A value that was not measured is null, as in the summary."""

from __future__ import annotations

from typing import Any

from ..config import config_to_dict
from .catalog import RunInfo, settings_that_differ


def run_record(info: RunInfo, settings: bool = True) -> dict[str, Any]:
    """One run; ``settings``: with its whole config (``runs show``), else without (``runs list``)."""
    record = {"id": info.id, "path": str(info.path), "status": info.status, "preset": info.preset,
              "tricks": info.tricks, "summary": info.summary or None}
    if info.config_error:
        record["config_error"] = info.config_error
    if settings:
        record["config"] = config_to_dict(info.config) if info.config else None
        record["files"] = sorted(p.name for p in info.path.iterdir() if p.is_file())
    return record


def compare_record(runs: list[RunInfo]) -> dict[str, Any]:
    """The settings that differ between the runs (dotted key -> one value per run) and each run's record."""
    return {"runs": [run_record(r, settings=False) for r in runs], "settings_that_differ": settings_that_differ(runs)}
