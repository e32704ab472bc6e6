"""The engine on images against a plain hand-written PyTorch loop, in one process: the lesson's
OptimizedCNN (preset cifar10-optimized-cnn) on synthetic 3×32×32 uint8 data of CIFAR-10's size
(50,000 training images, of which 5,000 validate, and 10,000 test), read through our npz loader.

Both hold the images on the device as uint8 and normalise each batch there; both train with the
lesson's recipe (Adam lr 0.01 with coupled L2 1e-4, cosine per epoch, clipping at 1.0, early
stopping bookkeeping, validation every epoch, a final test score). The engine also writes its run
folder, metrics.jsonl and checkpoints. They alternate (engine, plain, plain, engine, ...) and the
last line is the median engine/plain samples/s ratio. Also printed: the process's peak memory
after the data is loaded.

``--compare PRESET`` benches another image preset the same way, against a plain loop of its own
recipe: He et al.'s for ``cifar10-resnet20`` (the same ResNet module, built once per run; SGD with
momentum and coupled weight decay, the LR divided at the preset's milestones, random crops with
padding and flips drawn per image on the device, no clipping, no early stopping).

    python bench/images.py                     # fp32, one thread
    python bench/images.py --compare cifar10-resnet20 --train-size 5000 --repeats 3
    python bench/images.py --threads 2 --set tricks.mixed_precision.enabled=true   # bf16 on the CPU
    python bench/images.py --device cuda --set tricks.mixed_precision.enabled=true
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pairs import alternate, engine_run  # noqa: E402
from tests.lesson import OptimizedCNN  # noqa: E402  (the lesson's class, as the lesson writes it)
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.engine.precision import choose_threads, resolve_device, resolve_precision  # noqa: E402


def plain_loop(config, data, device, precision) -> float:
    start = time.perf_counter()
    t = config.train
    torch.manual_seed(t.seed)
    model = OptimizedCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.epochs, eta_min=1e-5)
    scaler = torch.amp.GradScaler(device.type) if precision.use_scaler else None
    mean, std = (s.to(device).reshape(1, -1, 1, 1) for s in data.stats)
    gen = torch.Generator(device=device).manual_seed(t.seed)
    best, wait = math.inf, 0
    for _ in range(t.epochs):
        model.train()
        loss_sum = torch.zeros((), device=device)
        for xb, yb in _shuffled_batches(data.train, t.batch_size, mean, std, gen):
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            loss_sum += loss.detach()
        sched.step()
        assert math.isfinite(loss_sum.item())
        val = _evaluate(model, data.val.x, data.val.y, mean, std, precision, device)
        best, wait = (val, 0) if val < best else (best, wait + 1)
    _evaluate(model, data.test.x, data.test.y, mean, std, precision, device)
    return time.perf_counter() - start


def recipe_loop(config, data, device, precision) -> float:
    """A plain loop of an SGD recipe with crops and flips (cifar10-resnet20's), on the preset's model."""
    from tui_trainer.models import build_model

    start = time.perf_counter()
    t, tricks = config.train, config.tricks
    torch.manual_seed(t.seed)
    model = build_model(data.spec, config).to(device)
    decay = tricks.weight_decay.value if tricks.weight_decay.enabled else 0.0
    opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, nesterov=t.nesterov, weight_decay=decay)
    milestones = [round(m * t.epochs) for m in tricks.lr_schedule.milestones]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=tricks.lr_schedule.gamma)
    mean, std = (s.to(device).reshape(1, -1, 1, 1) for s in data.stats)
    pad = tricks.augment.crop_padding
    gen = torch.Generator(device=device).manual_seed(t.seed)
    for _ in range(t.epochs):
        model.train()
        loss_sum = torch.zeros((), device=device)
        for xb, yb in _shuffled_batches(data.train, t.batch_size, mean, std, gen):
            xb = _crop_flip(xb, pad, gen)
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        sched.step()
        assert math.isfinite(loss_sum.item())
        _evaluate(model, data.val.x, data.val.y, mean, std, precision, device)
    _evaluate(model, data.test.x, data.test.y, mean, std, precision, device)
    return time.perf_counter() - start


def _shuffled_batches(split, bs: int, mean, std, gen):
    """One epoch of ``split`` in a new order: each batch of uint8 images as normalised floats, and its labels."""
    n = len(split.y)
    perm = torch.randperm(n, device=split.y.device, generator=gen)
    xs, ys = split.x[perm], split.y[perm]
    for b in range(math.ceil(n / bs)):
        yield (xs[b * bs : (b + 1) * bs].float() - mean) / std, ys[b * bs : (b + 1) * bs]


def _crop_flip(x, pad: int, gen):
    """Each image cropped back to its size at a random offset of the zero-padded image, and half mirrored."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    top, left = (torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=gen) for _ in range(2))
    rows = (top[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (left[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    images, channels = torch.arange(n, device=x.device), torch.arange(c, device=x.device)
    out = padded[images[:, None, None, None], channels[None, :, None, None], rows, cols]
    flip = torch.rand(n, device=x.device, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


@torch.no_grad()
def _evaluate(model, x, y, mean, std, precision, device) -> float:
    model.eval()
    total = torch.zeros((), device=device)
    for i in range(0, len(y), 1024):
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
            logits = model((x[i : i + 1024].float() - mean) / std)
        total += F.cross_entropy(logits.float(), y[i : i + 1024], reduction="sum")
    model.train()
    return total.item() / len(y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=4, help="engine/plain pairs")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--compare", metavar="PRESET", help="bench this image preset (cifar10-resnet20) against "
                                                            "a plain loop of its recipe instead of the lesson's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        test_size = min(10_000, args.train_size // 5)  # CIFAR-10's 10,000 beside 50,000
        path = Path(tmp) / "cifar-shaped.npz"
        np.savez(path, x=rng.integers(0, 256, (args.train_size, 3, 32, 32), dtype=np.uint8),
                 y=rng.integers(0, 10, args.train_size),
                 x_test=rng.integers(0, 256, (test_size, 3, 32, 32), dtype=np.uint8),
                 y_test=rng.integers(0, 10, test_size))
        overrides = [("data.dataset", "npz", "--set"), ("data.path", str(path), "--set"),
                     ("train.device", args.device, "--device"), ("train.threads", args.threads, "--threads"),
                     ("train.epochs", args.epochs, "--epochs"), ("tricks.mixed_precision.enabled", False, "--set"),
                     *args.overrides]
        config, _ = load_preset(args.compare or "cifar10-optimized-cnn", overrides)
        device = resolve_device(config.train.device)
        precision = resolve_precision(config, device)
        torch.set_num_threads(choose_threads(config.train.threads))
        data = load_data(config.data, device)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"data: {len(data.train):,}/{len(data.val):,}/{len(data.test):,} images {data.mode_detail}; "
              f"process peak RSS after loading {peak:,.0f} MB", flush=True)
        samples = len(data.train) * config.train.epochs
        plain = recipe_loop if args.compare else plain_loop
        runs = {"engine": lambda: engine_run(config, data, Path(tmp)),
                "plain": lambda: plain(config, data, device, precision)}
        ratios = alternate(runs, args.repeats, samples, "samples/s")
        print(f"{config.name}: device {device}, precision {precision.name}, threads {torch.get_num_threads()}, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
        print(f"median engine/plain samples/s ratio: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
