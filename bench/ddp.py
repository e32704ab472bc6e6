"""Scaling efficiency of one run over several processes (DDP), against one process.

Each round trains the preset once as `tui-trainer train` (one process) and once as
`tui-trainer train --nproc N` (DDP, gloo on the CPU), both with the same global batch and
one thread per process, alternating which goes first. The figure is each run's training
samples/s (`train_samples_per_second` in summary.json: samples over the time spent in the
steps, validation excluded), and the last line is the median over rounds of

    efficiency = (samples/s on N processes) / (N × samples/s on one)

    python bench/ddp.py                          # cnn-mnist1d and lstm-mnist1d, 2 processes
    python bench/ddp.py --device cuda --nproc 1  # (one GPU: the single-process figure)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def train(preset: str, epochs: int, nproc: int, device: str, runs: Path, extra: list[str]) -> float:
    args = [sys.executable, "-m", "tui_trainer", "train", preset, "--epochs", str(epochs), "--threads", "1",
            "--device", device, "--no-early-stopping", "--json", "--runs-dir", str(runs), *extra]
    if nproc > 1:
        args += ["--nproc", str(nproc)]
    before = set(runs.iterdir()) if runs.exists() else set()
    done = subprocess.run(args, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    (run,) = set(runs.iterdir()) - before
    return json.loads((run / "summary.json").read_text())["train_samples_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=["cnn-mnist1d", "lstm-mnist1d"])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    a = parser.parse_args()
    extra = [x for o in a.overrides for x in ("--set", o)]
    print(f"{os.cpu_count()} cores; {a.nproc} processes against 1, one thread each, "
          f"{a.epochs} epochs, {a.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in a.presets:
            ones, manys, effs = [], [], []
            for r in range(a.rounds):
                order = (1, a.nproc) if r % 2 == 0 else (a.nproc, 1)
                got = {n: train(preset, a.epochs, n, a.device, Path(tmp) / preset, extra) for n in order}
                ones.append(got[1])
                manys.append(got[a.nproc])
                effs.append(got[a.nproc] / (a.nproc * got[1]))
                print(f"  {preset} round {r + 1}: 1 process {got[1]:,.0f}/s, {a.nproc} "
                      f"processes {got[a.nproc]:,.0f}/s, efficiency {effs[-1]:.3f}", flush=True)
            print(f"{preset}: 1 process {statistics.median(ones):,.0f} samples/s, {a.nproc} processes "
                  f"{statistics.median(manys):,.0f} samples/s, speed-up "
                  f"{statistics.median(manys) / statistics.median(ones):.2f}x, scaling efficiency "
                  f"{statistics.median(effs):.3f} (median of {a.rounds} rounds)")


if __name__ == "__main__":
    main()
