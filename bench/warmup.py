"""Does warm-up matter for the char-Transformer? The transformer-text preset at its own
learning rate, pre-LN and post-LN, with its warm-up and without it, over several seeds.

Each line: the setting, the best validation bits/char of each seed, their mean ± standard
deviation, and how many seeds diverged. The last lines pair each seed's run with and without
warm-up and give the mean difference (with warm-up minus without; below 0: warm-up helps).

    python bench/warmup.py                              # 3 seeds, the preset's epochs
    python bench/warmup.py --epochs 4 --seeds 0 1 2 --threads 2
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_trainer.config import replace  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.engine.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="transformer-text")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=0, help="0: the preset's")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    base, _ = load_preset(args.preset, args.set)
    overrides = {"sample.every_epoch": False, "train.threads": args.threads}
    if args.epochs:
        overrides["train.epochs"] = args.epochs
    base = replace(base, overrides)
    warm = base.tricks.lr_schedule.warmup_steps
    data = load_data(base.data)
    results: dict[tuple[str, int], list[float]] = {}
    print(f"{args.preset}: lr {base.train.lr}, {base.train.epochs} epochs, warm-up {warm} "
          f"steps or none, seeds {args.seeds}", flush=True)
    for norm in ("pre", "post"):
        for steps in (warm, 0):
            values, diverged, started = [], 0, time.perf_counter()
            for seed in args.seeds:
                config = replace(base,
                                 {"model.transformer.norm": norm, "tricks.lr_schedule.warmup_steps": steps,
                                  "train.seed": seed})
                summary = Trainer(config, data=data).run().summary
                best = (summary.get("best_val_metrics") or {}).get("val_bits_per_char")
                diverged += summary["status"] == "diverged" or best is None
                values.append(best if best is not None else math.nan)
            results[(norm, steps)] = values
            finite = [v for v in values if math.isfinite(v)]
            sd = statistics.stdev(finite) if len(finite) > 1 else 0
            spread = f"{statistics.mean(finite):.3f} ± {sd:.3f}" if finite else "-"
            print(f"{norm}-LN, warm-up {steps:>4} steps: " + " ".join(f"{v:.3f}" for v in values)
                  + f"  mean {spread}  diverged {diverged}/{len(values)}  ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    for norm in ("pre", "post"):
        diffs = [a - b for a, b in zip(results[(norm, warm)], results[(norm, 0)])]
        print(f"{norm}-LN: with warm-up minus without, per seed: " + " ".join(f"{d:+.3f}" for d in diffs)
              + f"  mean {statistics.mean(diffs):+.3f}")


if __name__ == "__main__":
    main()
