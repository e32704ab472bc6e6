"""Does flushing subnormal floats to zero (`torch.set_flush_denormal(True)`, FTZ/DAZ) pay, and
does it change results?

Each case trains with the engine twice per round, flush on and off in alternating order, same
seed and data, one thread; the lines give the samples/s of each and whether the final metrics
are identical. The saturated LSTM (SGD at lr 10, no clipping, no BatchNorm) is the case that
fills its state with subnormal numbers.

    python bench/denormal.py
    python bench/denormal.py --rounds 5 --epochs 2
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
from tui_trainer.engine.trainer import Trainer  # noqa: E402

CASES = {
    "cnn-mnist1d": ("cnn-mnist1d", []),
    "lstm-mnist1d": ("lstm-mnist1d", []),
    "saturated lstm (sgd, lr 10, no clip, no BN)": ("lstm-mnist1d",
                                                    ["train.optimizer=sgd", "train.lr=10",
                                                     "tricks.grad_clip.enabled=false",
                                                                      "tricks.batchnorm.enabled=false"]),
    "lstm-co2": ("lstm-co2", []),
}
KEYS = ("best_val_loss", "test_loss", "steps")


def run(config, data, flush: bool) -> dict:
    torch.set_flush_denormal(flush)
    try:
        return Trainer(config, data=data).run().summary
    finally:
        torch.set_flush_denormal(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    a = parser.parse_args()
    torch.set_num_threads(1)
    for name, (preset, sets) in CASES.items():
        config, _ = load_preset(preset,
                                [*sets, f"train.epochs={a.epochs}", "train.threads=1",
                                 "tricks.early_stopping.enabled=false"])
        data = load_data(config.data)
        speed = {True: [], False: []}
        same = True
        for r in range(a.rounds):
            got = {}
            for flush in ((True, False) if r % 2 == 0 else (False, True)):
                got[flush] = run(config, data, flush)
                speed[flush].append(got[flush]["train_samples_per_second"])
            same = same and all(got[True].get(k) == got[False].get(k) for k in KEYS)
        on, off = statistics.median(speed[True]), statistics.median(speed[False])
        print(f"{name}: flush on {on:,.0f} samples/s, off {off:,.0f} samples/s, {on / off:.2f}x; "
              f"results {'identical' if same else 'DIFFERENT'} (median of {a.rounds} rounds, {a.epochs} epoch(s))",
              flush=True)


if __name__ == "__main__":
    main()
