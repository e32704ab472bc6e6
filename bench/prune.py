"""What `sweep --prune doctor` saves, against no pruning and against ASHA, in one invocation.

The same sweep (a grid of learning rates on a few seeds, where the high ones go wrong: the loss
thrown off, most of the ReLUs dead) is run four times with `tui-trainer sweep`, each in its own
folder: with no pruning, with `--prune doctor`, with `--scheduler asha`, and with both. For each:
the steps trained over all trials (the compute; a pruned trial counts the steps it took before
its stop), the wall time, the trials pruned and why, and the best headline test metric of any
trial that finished (pruned trials stop before their test on their best weights counts: a sweep
reads its best from the trials it let finish).

    python bench/prune.py                       # cnn-mnist1d without BatchNorm, lr 0.001..1, 3 seeds
    python bench/prune.py --toy --modes none,doctor   # two LRs, one seed, 3 epochs: the pipeline (tests)

It writes bench/results/prune.json (with --toy, prune-toy.json in the temporary folder).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine, short_machine  # noqa: E402

from tui_trainer.display import test_value  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MODES = {"none": [], "doctor": ["--prune", "doctor"], "asha": ["--scheduler", "asha"],
         "asha + doctor": ["--scheduler", "asha", "--prune", "doctor"]}
SWEEP = ["--set", "data.train_limit=1000", "--set", "tricks.batchnorm.enabled=false",
         "--set", "tricks.early_stopping.enabled=false"]


def sweep(preset: str, grid: str, seeds: int, epochs: int, jobs: int, extra: list[str], folder: Path) -> float:
    """Run one sweep with `tui-trainer sweep`; its wall seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tui_trainer", "sweep", preset, "--grid", grid, "--seeds", str(seeds),
                           "--epochs", str(epochs), "--threads", "1", "--jobs", str(jobs), "--runs-dir", str(folder),
                           *SWEEP, *extra], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sweep {' '.join(extra) or '(no pruning)'} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def trials(folder: Path) -> list[dict]:
    """Each trial's summary: its status, steps, headline test metric and, if pruned, why."""
    out = []
    for summary in sorted(folder.glob("sweep-*/*/summary.json")):
        s = json.loads(summary.read_text(encoding="utf-8"))
        config = (summary.parent / "config.toml").read_text(encoding="utf-8")
        lr = next((line.split("=", 1)[1].strip() for line in config.splitlines() if line.startswith("lr =")), "?")
        value = test_value(s, s.get("headline") or "test_accuracy")
        out.append({"trial": summary.parent.name, "lr": lr, "status": s.get("status"), "steps": s.get("steps", 0),
                    "epochs_run": s.get("epochs_run"), "headline": s.get("headline"), "mode": s.get("headline_mode"),
                    "test": value if s.get("status") != "pruned" else None, "reason": s.get("reason", "")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cnn-mnist1d")
    parser.add_argument("--grid", default="train.lr=0.001,0.003,0.01,0.1,1")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--modes", default=",".join(MODES), help=f"of {', '.join(MODES)} (default: all)")
    parser.add_argument("--toy", action="store_true", help="two LRs, one seed, 3 epochs: the pipeline only")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES) or "none" not in modes:
        raise SystemExit(f"--modes: choose from {', '.join(MODES)}, with none (what the others are measured against)")
    if args.toy:
        args.grid, args.seeds, args.epochs = "train.lr=0.003,1", 1, 3
    report = {"machine": machine(), "machine_short": short_machine(), "date": datetime.date.today().isoformat(),
              "preset": args.preset, "grid": args.grid, "seeds": args.seeds, "epochs": args.epochs,
              "settings": SWEEP[1::2], "toy": args.toy, "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            extra = MODES[mode]
            folder = Path(tmp) / mode.replace(" + ", "-")
            seconds = sweep(args.preset, args.grid, args.seeds, args.epochs, args.jobs, extra, folder)
            found = trials(folder)
            finished = [t for t in found if t["test"] is not None]
            goal = max if finished and finished[0]["mode"] == "max" else min
            best = goal(finished, key=lambda t: t["test"]) if finished else None
            report["modes"][mode] = {
                "seconds": round(seconds, 1), "steps": sum(t["steps"] for t in found),
                "pruned": [f"{t['trial']}: {t['reason']}" for t in found if t["status"] == "pruned"],
                "best": None if best is None else {"trial": best["trial"], "lr": best["lr"], "test": best["test"],
                                                   "metric": best["headline"]},
                "trials": found}
            entry = report["modes"][mode]
            print(f"{mode}: {entry['steps']} steps, {seconds:.0f} s, {len(entry['pruned'])} pruned", flush=True)
    base = report["modes"]["none"]["steps"] or 1
    for mode, entry in report["modes"].items():
        entry["steps_saved"] = round(1 - entry["steps"] / base, 3)
    out = Path(tempfile.gettempdir()) / "prune-toy.json" if args.toy else RESULTS / "prune.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'mode':<14} {'steps':>7} {'saved':>6} {'pruned':>6}  best test")
    for mode, entry in report["modes"].items():
        best = entry["best"]
        shown = "none finished" if best is None else f"{best['test']:.4f} {best['metric']} (lr {best['lr']})"
        print(f"{mode:<14} {entry['steps']:>7} {entry['steps_saved']:>6.0%} {len(entry['pruned']):>6}  {shown}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
