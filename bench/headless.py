"""A `tui-trainer train` process as a user starts it (its own runs folder, JSON lines), and the
summary its last line carries: what the benches that time or score whole runs share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile


def train_summary(preset: str, *args: str, env: dict | None = None) -> dict:
    """The summary of one `tui-trainer train PRESET ARGS... --json` process (``env``: more variables)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "tui_trainer", "train", preset, *args, "--json", "--runs-dir", tmp],
                             capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}).stdout
    return next(json.loads(line)["summary"] for line in out.splitlines() if '"run_ended"' in line)
