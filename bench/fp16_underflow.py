"""What fp16 without a GradScaler risks, measured on a CPU: the mixed-precision lab's fp16 arms
(the CNN memorising 512 MNIST-1D samples in one batch for 150 epochs, nothing to hold the fit
back) with fp16 autocast forced on the CPU, where the engine refuses it for users (fp16's range is
the same there, only slower). With and without a GradScaler, per seed: the final training loss,
the share of gradient entries that are exactly zero at the end (fp16 underflow: below 6e-8 an
unscaled gradient rounds to zero), and the test accuracy.

    python bench/fp16_underflow.py --seeds 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.engine.precision import Precision  # noqa: E402
from tui_trainer.engine.trainer import Trainer  # noqa: E402

FP16_ARM = [("data.train_limit", 512), ("train.batch_size", 512), ("train.epochs", 150),
            ("tricks.dropout.enabled", False), ("tricks.weight_decay.enabled", False),
            ("tricks.grad_clip.enabled", False), ("tricks.lr_schedule.enabled", False),
            ("tricks.early_stopping.enabled", False), ("train.threads", 1)]


def zero_share(trainer: Trainer, scaled: bool) -> float:
    """The share of gradient entries exactly zero after one more backward pass on the training
    batch, as the run computes them (fp16 autocast; through the scaler when it has one)."""
    parts, setup = trainer.parts, trainer.setup
    train = setup.data.train
    x, y = parts.inputs.prepare(train.x), train.y
    parts.model.train()
    parts.optim.optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.float16):
        loss = parts.task.loss(parts.model(x), y)
    (parts.scaler.scale(loss) if scaled else loss).backward()
    grads = [p.grad for p in parts.optim.params if p.grad is not None]
    zeros = sum(int((g == 0).sum()) for g in grads)
    return zeros / sum(g.numel() for g in grads)


def run(seed: int, scaled: bool) -> dict:
    config, _ = load_preset("cnn-mnist1d", [(k, v, "bench") for k, v in [*FP16_ARM, ("train.seed", seed)]])
    trainer = Trainer(config, keep_events=True)
    trainer.prepare()
    trainer.setup.precision = Precision("fp16", torch.float16, scaled)  # forced: the engine refuses fp16 on a CPU
    trainer.parts.scaler = torch.amp.GradScaler("cpu", enabled=scaled)
    result = trainer.run()
    last = [e for e in result.events if type(e).__name__ == "EpochEnded"][-1]
    return {"train_loss": last.train_loss, "zero_grads": zero_share(trainer, scaled),
            "test_accuracy": result.summary["test_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    opts = parser.parse_args()
    for scaled in (True, False):
        for seed in range(opts.seeds):
            r = run(seed, scaled)
            print(f"fp16 {'+ GradScaler' if scaled else 'no scaler   '} seed {seed}: final training loss "
                  f"{r['train_loss']:.2g}, zero gradient entries {r['zero_grads']:.1%}, "
                  f"test accuracy {r['test_accuracy']:.3f}", flush=True)


if __name__ == "__main__":
    main()
