"""Which data handling lets an LSTM forecast the Mauna Loa CO2 series: each ``data.transform``
over several seeds, at horizon 1 and 12, against the naive and seasonal-naive forecasts.

The model and recipe are the ``lstm-co2`` preset's; only the transform, the horizon and the
seed change. Each line gives the test MAE (ppm) at the first and the last step of the horizon
for every seed, its median, and the median as a fraction of the better baseline at that step.

    python bench/series.py                        # all four transforms, seeds 0 1 2
    python bench/series.py --transforms both --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_trainer.config import replace  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.config.schema import SERIES_TRANSFORMS  # noqa: E402
from tui_trainer.engine.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="lstm-co2")
    parser.add_argument("--transforms", nargs="+", default=list(SERIES_TRANSFORMS), choices=SERIES_TRANSFORMS)
    parser.add_argument("--horizons", nargs="+", type=int, default=[1, 12])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another override of the preset")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base, _ = load_preset(args.preset, args.set)
    print(f"{args.preset}: test MAE (ppm) per seed {args.seeds}, median, and median / the better baseline at that step")
    for horizon in args.horizons:
        for transform in args.transforms:
            config = replace(base, {"data.transform": transform, "data.horizon": horizon})
            steps = {1: [], horizon: []}
            baselines = {}
            for seed in args.seeds:
                summary = Trainer(replace(config, {"train.seed": seed, "train.threads": 1})).run().summary
                for step in steps:
                    steps[step].append(summary["test_metrics"][f"test_mae_h{step}"])
                    baselines[step] = {name: b[f"test_mae_h{step}"] for name, b in summary["baselines"].items()}
            for step, maes in steps.items():
                best = min(baselines[step].values())
                median = statistics.median(maes)
                print(f"horizon {horizon:>2} {transform:<11} step {step:>2}: " + " ".join(f"{m:.3f}" for m in maes)
                      + f"  median {median:.3f}  ({median / best:.2f} of the better baseline: "
                      + ", ".join(f"{n} {v:.3f}" for n, v in baselines[step].items()) + ")", flush=True)
                if horizon == 1:
                    break


if __name__ == "__main__":
    main()
