"""How soon the app's first screen appears, in a real terminal (tmux), from the command.

For each command, starts it in a detached tmux session of the given size and polls the pane
every 10 ms until a text shows: the first screen ("Training", the settings' first group),
all the settings ("BatchNorm", mounted just after the first paint) and the model's size
("params", once torch is imported in the background). Prints the median of each over the
repeats. The polling itself adds about 10 ms (tmux answers a bare `echo` in 13 ms here).

    python bench/startup.py                 # tui-trainer, tui-trainer tui lstm-mnist1d; 120x40
    python bench/startup.py --size 60x20 --repeats 9
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MARKS = ("Training", "BatchNorm", "params")


def first_seen(command: str, size: tuple[int, int], cwd: Path, timeout: float = 30.0) -> dict[str, float]:
    """Seconds from starting ``command`` until each of :data:`MARKS` is on the screen."""
    socket = f"bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    start = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), f"{command}; sleep 60"],
                   cwd=cwd, check=True)
    seen: dict[str, float] = {}
    try:
        while len(seen) < len(MARKS) and time.perf_counter() - start < timeout:
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
            now = time.perf_counter() - start
            for mark in MARKS:
                if mark not in seen and mark in screen:
                    seen[mark] = now
            time.sleep(0.01)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench/startup.py needs tmux")
    size = tuple(int(v) for v in args.size.split("x"))
    exe = shlex.quote(str(Path(sys.executable).with_name("tui-trainer")))
    with tempfile.TemporaryDirectory() as tmp:
        variables = {"TUI_TRAINER_RUNS": f"{tmp}/runs"}
        if "TUI_TRAINER_CACHE" in os.environ:
            variables["TUI_TRAINER_CACHE"] = os.environ["TUI_TRAINER_CACHE"]
        env = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
        commands = {"tui-trainer": f"{env} {exe}", "tui-trainer tui lstm-mnist1d": f"{env} {exe} tui lstm-mnist1d"}
        for label, command in commands.items():
            first_seen(command, size, Path(tmp))  # warm the file cache
            runs = [first_seen(command, size, Path(tmp)) for _ in range(args.repeats)]
            parts = []
            for mark in MARKS:
                times = [r[mark] for r in runs if mark in r]
                parts.append(f"{mark!r} {statistics.median(times):.2f} s" if times else f"{mark!r} not seen")
            print(f"{label} at {args.size}, median of {args.repeats}: " + ", ".join(parts), flush=True)


if __name__ == "__main__":
    main()
