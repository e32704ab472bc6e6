"""What a lab of this tool measured, for a prescription's "measured by": the verdict of the lab's
latest complete result here (run with its own settings), else the shipped reference's (the lab run
whole by ``bench/labs.py``, with its machine and date), else nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ..experiments.labs.reference import reference
from ..experiments.labs.runner import LAB_JSON, lab_folders


def lab_says(name: str, runs_dir: Path | str | None, words: tuple[str, ...] = ()) -> str:
    """The lab's headline and its verdict line about ``words`` (the trick prescribed; else its
    first line), from its latest whole result here or the reference, with where it ran; or ""."""
    if runs_dir is not None and Path(runs_dir).is_dir():
        for folder in lab_folders(runs_dir, name):
            said = _here(folder, words)
            if said:
                return said
    data = reference()
    entry = (data.get("labs") or {}).get(name) or {}
    if not entry.get("outcome"):
        return ""
    headline = entry.get("headline") or entry["outcome"]
    first = _line(entry.get("lines") or [], words)
    where = f"{data.get('machine_short', 'another machine')}, {data.get('date', '?')}"
    return f"{headline}{first} (reference run on {where})"


def _line(lines: list[str], words: tuple[str, ...]) -> str:
    """``; `` and the first verdict line that names one of ``words``, else the first line; "" for none."""
    about = [line for line in lines if any(word.lower() in line.lower() for word in words)]
    chosen = (about or lines)[:1]
    return f"; {chosen[0].strip()}" if chosen else ""


def _here(folder: Path, words: tuple[str, ...]) -> str:
    """The verdict of a lab folder run whole with the lab's own settings, or ""."""
    try:
        data = json.loads((folder / LAB_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    verdict = data.get("verdict") or {}
    if not verdict.get("outcome") or data.get("extra") or data.get("stopped") or data.get("skipped"):
        return ""  # a lab with settings of the user's, stopped, or with arms left out: not the lab's answer
    headline = verdict.get("headline") or verdict["outcome"]
    return f"{headline}{_line(verdict.get('lines') or [], words)} (lab run here: {folder.name})"
