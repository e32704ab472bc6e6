"""Check that a change of the code left training bit-identical: every step's loss, gradient norm
and LR, every epoch's validation metrics, and the final metrics and weights, of short runs on
one thread (real `tui-trainer train` processes).

    python bench/identical.py --save /tmp/before.json      # on the code before the change
    python bench/identical.py --against /tmp/before.json   # after: exit 1 where anything moved

The runs: `cnn-mnist1d` and `lstm-mnist1d`, 2 epochs each, and the same CNN with every trick
that changes the step switched on (label smoothing, clipping by value, coupled weight decay, a
one-cycle schedule), and with SGD and its decoupled weight decay; `--preset NAME` (repeatable) picks others.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = {
    "cnn-mnist1d": [],
    "lstm-mnist1d": [],
    "cnn-mnist1d+tricks": ["--set", "tricks.label_smoothing.enabled=true", "--set", "tricks.grad_clip.mode=value",
                           "--set", "tricks.weight_decay.mode=coupled", "--set", "tricks.lr_schedule.kind=onecycle",
                           "--set", "tricks.lr_schedule.warmup_epochs=0"],
    "cnn-mnist1d+sgd": ["--set", "train.optimizer=sgd", "--set", "train.lr=0.05", "--set",
                        "tricks.early_stopping.patience=1"],
}
FINAL = ("status", "epochs_run", "steps", "best_epoch", "best_val_loss", "test_loss", "test_metrics", "weights")


def record(name: str, extra: list[str], epochs: int) -> dict:
    """The run's per-step and per-epoch numbers and its final ones."""
    preset = name.split("+")[0]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "tui_trainer", "train", preset, "--epochs", str(epochs),
                               "--threads", "1", "--set", "train.stats_every=1", "--json", *extra, "--runs-dir", tmp],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{name}: train failed:\n{done.stderr[-2000:]}")
        [run_dir] = Path(tmp).iterdir()
        steps, epochs_seen = [], []
        for line in (run_dir / "metrics.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "step_stats":
                steps.extend(zip(event["losses"], event["grad_norms"], event["lrs"]))
            elif event["event"] == "epoch_ended":
                epochs_seen.append({k: event[k] for k in ("epoch", "train_loss", "val_loss", "metrics", "lr",
                                                          "weight_norm")})
        summary = json.loads((run_dir / "summary.json").read_text())
        return {"steps": steps, "epochs": epochs_seen, "final": {k: summary.get(k) for k in FINAL}}


def differences(before: dict, after: dict) -> list[str]:
    out = []
    if len(before["steps"]) != len(after["steps"]):
        out.append(f"{len(before['steps'])} steps before, {len(after['steps'])} after")
    for i, (a, b) in enumerate(zip(before["steps"], after["steps"])):
        if a != b:
            out.append(f"step {i + 1}: (loss, grad norm, lr) {a} before, {b} after")
            break
    for a, b in zip(before["epochs"], after["epochs"]):
        if a != b:
            out.append(f"epoch {a['epoch']}: {a} before, {b} after")
    for key, value in before["final"].items():
        if after["final"].get(key) != value:
            out.append(f"{key}: {value} before, {after['final'].get(key)} after")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", type=Path, help="write the runs' numbers here")
    parser.add_argument("--against", type=Path, help="compare the runs with the numbers saved here")
    parser.add_argument("--preset", action="append", help="a preset to run instead of the default three (repeatable)")
    parser.add_argument("--epochs", type=int, default=2)
    opts = parser.parse_args()
    runs = {name: [] for name in opts.preset} if opts.preset else RUNS
    numbers = {name: record(name, extra, opts.epochs) for name, extra in runs.items()}
    if opts.save:
        opts.save.write_text(json.dumps(numbers))
    for name, run in numbers.items():
        print(f"{name}: {len(run['steps'])} steps, test loss {run['final']['test_loss']!r}, "
              f"weights {run['final']['weights']}")
    if opts.against:
        saved = json.loads(opts.against.read_text())
        failed = False
        for name, run in numbers.items():
            diff = differences(saved[name],
                               json.loads(json.dumps(run))) if name in saved else ["not in the saved numbers"]
            print(f"{name}: " + ("bit-identical" if not diff else "DIFFERS\n  " + "\n  ".join(diff)))
            failed |= bool(diff)
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
