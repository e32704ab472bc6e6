"""The real app in a real terminal: tmux runs it, keys are sent, the screen is read."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tui_trainer.config import load_config, replace, save_config
from tui_trainer.config.presets import resolve_preset

pytestmark = [
    pytest.mark.usefixtures("mnist1d"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


def test_app_trains_in_tmux_and_quits(tmp_path):
    preset = tmp_path / "short.toml"
    save_config(replace(load_config(resolve_preset("cnn-mnist1d")), {"name": "short", "train.epochs": 2}), preset)
    socket = f"tt-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    # pytest's readline sets COLUMNS and LINES: pass the environment explicitly without them
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    exports = " ".join(f"{k}={shlex_quote(v)}" for k, v in env.items()
                       if k.startswith(("TUI_TRAINER", "XDG", "PATH", "HOME", "TERM")))
    command = (f"env -u COLUMNS -u LINES {exports} {sys.executable} -m tui_trainer tui {preset} "
               f"--runs-dir {tmp_path / 'runs'} --threads 1; echo APP-EXITED-$?; sleep 60")
    subprocess.run([*tmux, "new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command], check=True, env=env,
                   cwd=tmp_path)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", "e2e"], capture_output=True, text=True).stdout

    def wait_screen(text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen()}")

    try:
        for text in ("no run yet", "kernel size", "Start", "Quit"):  # kernel size: the later settings groups mounted
            wait_screen(text, timeout=30)
        described = wait_screen("params")  # torch loaded in the background, model described
        assert "short" in described and "cpu" in described
        subprocess.run([*tmux, "send-keys", "-t", "e2e", "s"], check=True)
        wait_screen("epoch 1/2")
        done = wait_screen("test accuracy")
        assert "completed" in done or "early_stopped" in done
        subprocess.run([*tmux, "send-keys", "-t", "e2e", "q"], check=True)
        wait_screen("APP-EXITED-0", timeout=30)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    [run] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["status"] == "completed"


def shlex_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
