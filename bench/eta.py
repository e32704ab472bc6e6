"""The app's ETA against the real remaining time: a real `tui-trainer train --json` process, its
events read as they arrive and fed to the status line's arithmetic (`tui/pace.py`), the estimate
taken at every epoch's end and then set against when the run really ended. Beside it, the
estimate the status line gave before (the last fetch's samples/s over the steps left, validation
and checkpoints left out).

    python bench/eta.py                                   # lstm-mnist1d, 200 epochs, one thread
    python bench/eta.py cnn-mnist1d --epochs 100 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine  # noqa: E402

from tui_trainer.engine.events import EpochEnded, RunStarted, StepStats, event_from_dict  # noqa: E402
from tui_trainer.runs.pace import Pace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", default="lstm-mnist1d")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "tui_trainer", "train", args.preset, "--epochs", str(args.epochs),
                   "--no-early-stopping", "--threads", str(args.threads), "--json", "--runs-dir", tmp]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        pace, estimates, started, last_step = Pace(), [], None, None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event, now = event_from_dict(json.loads(line)), time.monotonic()
            if isinstance(event, RunStarted):
                pace.show_run_started(event)
                started, begun = event, now
            elif isinstance(event, StepStats):
                pace.show_step_stats(event)
                last_step = event
            elif isinstance(event, EpochEnded):
                pace.show_epoch_ended(event)
                done = event.epoch * started.steps_per_epoch
                before = ((args.epochs * started.steps_per_epoch - done) * started.batch_size
                          / last_step.samples_per_second if last_step and last_step.samples_per_second else None)
                estimates.append((event.epoch, now, pace.remaining(), before))
        proc.wait()
        end = time.monotonic()
    rows = [(epoch, end - at, new, old) for epoch, at, new, old in estimates if epoch < args.epochs]
    total = end - begun
    # past the first 5 % of the epochs, and while a tenth of the run is left (at the very end the test
    # split's scoring, which no epoch measures, is most of what is left)
    late = [r for r in rows if r[0] >= max(2, args.epochs // 20) and r[1] >= 0.1 * total]
    print(f"{args.preset}, {args.epochs} epochs, {args.threads} thread(s) on {machine()}")
    for epoch, real, new, old in rows[:3] + rows[len(rows) // 2: len(rows) // 2 + 1] + rows[-2:]:
        print(f"after epoch {epoch:>4}: real {real:7.1f} s left, the ETA {new:7.1f} s ({new / real:.2f}), "
              f"before this change {old:7.1f} s ({old / real:.2f})")
    for name, index in (("the ETA", 2), ("before this change", 3)):
        errors = [abs(r[index] / r[1] - 1) for r in late if r[index] is not None and r[1] > 0]
        print(f"{name}: off by {statistics.median(errors):.0%} at the median, {max(errors):.0%} at the worst "
              f"(after epochs {late[0][0]}-{late[-1][0]}, while a tenth of the run or more was left)")


if __name__ == "__main__":
    main()
