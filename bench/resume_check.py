"""Interrupt real `tui-trainer train` processes at many points and check that resuming ends
with exactly the final metrics of the same run uninterrupted (CPU, one thread).

Each trial starts the run, waits for a random step (from the JSON events on stdout), sends
SIGINT, SIGTERM or SIGKILL (kill -9 after a further random 0-300 ms, to land anywhere, in a
checkpoint write too), resumes the folder with `train --resume` (again and again if a
resume is itself interrupted: not done here) and compares status, epochs, steps, best
epoch, best validation loss and accuracy, test loss and accuracy, bit for bit.

    python bench/resume_check.py --trials 12
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FINAL = ("status", "epochs_run", "steps", "best_epoch", "best_val_loss", "best_val_accuracy", "test_loss",
         "test_accuracy", "weights")


def train(args, runs_dir, preset):
    return subprocess.Popen([sys.executable, "-m", "tui_trainer", "train", preset, *args, "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def final(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    return {k: summary[k] for k in FINAL}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", default="cnn-mnist1d")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    args = ["--epochs", str(opts.epochs), "--threads", "1", "--json", "--set", "train.stats_every=4"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = train(args, tmp / "reference", opts.preset)
        ref.communicate()
        [ref_dir] = (tmp / "reference").iterdir()
        reference = final(ref_dir)
        total = reference["steps"]
        print(f"reference: {reference}")
        identical = 0
        signals = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
        for trial in range(opts.trials):
            sig = signals[trial % 3]
            at = rng.randint(1, total - 1)
            runs = tmp / f"trial{trial}"
            proc = train(args, runs, opts.preset)
            for line in proc.stdout:
                event = json.loads(line)
                if event["event"] == "step_stats" and event["first_step"] + len(event["losses"]) >= at:
                    break
            if sig == signal.SIGKILL:
                time.sleep(rng.uniform(0, 0.3))
            proc.send_signal(sig)
            proc.communicate()
            [run_dir] = runs.iterdir()
            summary = run_dir / "summary.json"
            finished = summary.exists() and json.loads(summary.read_text())["status"] in ("completed", "early_stopped")
            if proc.returncode == 0 or finished:  # it finished before the signal arrived (or took effect)
                same = final(run_dir) == reference
                identical += same
                print(f"trial {trial}: {sig.name:7} after step {at:3}: finished before the signal; "
                      f"{'identical' if same else 'DIFFERENT'}")
                continue
            resumed = subprocess.run([sys.executable, "-m", "tui_trainer", "train", "--resume", str(run_dir),
                                      "--threads", "1", "--json"],
                                     capture_output=True, text=True)
            if resumed.returncode != 0:
                print(f"trial {trial}: {sig.name} after step {at}: resume failed: {resumed.stderr.strip()}")
                continue
            same = final(run_dir) == reference
            identical += same
            print(f"trial {trial}: {sig.name:7} after step {at:3} (exit {proc.returncode}): "
                  f"{'identical' if same else 'DIFFERENT ' + str(final(run_dir))}", flush=True)
        print(f"{identical}/{opts.trials} resumed runs ended identical to the uninterrupted run")


if __name__ == "__main__":
    main()
