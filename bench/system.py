"""What sampling the system load costs the training: the engine with its sampler (as every run
has it) against the engine with the sampler left out, alternating in short pairs in one process,
one thread; the last line is the median samples/s ratio (sampler on / off).

    python bench/system.py
    python bench/system.py --repeats 12 --interval 0.1   # sample ten times as often, to see a cost at all
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.engine import system, trainer  # noqa: E402


class NoSampler:
    def __init__(self, device, interval=None):
        pass

    def start(self):
        return None  # the loop then skips every sample


def rate(config, data, sampled: bool) -> float:
    trainer.SystemSampler = system.SystemSampler if sampled else NoSampler
    return trainer.Trainer(config, data=data).run().summary["train_samples_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=["cnn-mnist1d", "lstm-mnist1d"])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--interval", type=float, default=system.INTERVAL, help="seconds between samples")
    a = parser.parse_args()
    system.INTERVAL = a.interval
    torch.set_num_threads(1)
    ratios = []
    for preset in a.presets:
        config, _ = load_preset(preset, ["train.epochs=2", "train.threads=1", "tricks.early_stopping.enabled=false"])
        data = load_data(config.data)
        mine = []
        for r in range(a.repeats):
            got = {s: rate(config, data, s) for s in ((True, False) if r % 2 == 0 else (False, True))}
            mine.append(got[True] / got[False])
        ratios += mine
        print(f"{preset}: sampled/unsampled samples/s {statistics.median(mine):.3f} (median of {a.repeats} pairs, "
              f"quartiles {statistics.quantiles(mine, n=4)[0]:.3f}-{statistics.quantiles(mine, n=4)[2]:.3f})",
              flush=True)
    print(f"median ratio with system sampling every {a.interval:g} s: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
