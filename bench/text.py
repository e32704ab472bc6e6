"""The engine on text against a plain hand-written PyTorch loop, in one process: the char-LSTM
(preset lstm-text) and the char-Transformer (preset transformer-text), each on the first
``--chars`` characters of the default corpus (the Python documentation topics).

Both loops train the same module (built from the preset) on the same resident sequences, with
the preset's tricks written out by hand in the plain loop: AdamW with decay on the matrices
only, linear warm-up then cosine per batch, clipping at 1.0, autocast where the preset asks for
it, validation every epoch and a test score at the end. The engine also writes its run folder,
metrics.jsonl and checkpoints. The engine's live samples are off here (they are work the plain
loop does not do); the time one sample takes is printed on its own. The runs alternate
(engine, plain, plain, engine, ...) and the last line of each model is the median engine/plain
tokens/s ratio.

    python bench/text.py                       # both models, fp32, one thread
    python bench/text.py --threads 2 --set tricks.mixed_precision.enabled=true   # bf16 where the CPU has it
    python bench/text.py --device cuda --set tricks.mixed_precision.enabled=true
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pairs import alternate, engine_run  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.config.schema import DataConfig  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.data.text import read_text  # noqa: E402
from tui_trainer.engine.generate import generate_text  # noqa: E402
from tui_trainer.engine.precision import choose_threads, resolve_device, resolve_precision  # noqa: E402
from tui_trainer.models import build_model  # noqa: E402


def plain_loop(config, data, device, precision) -> float:
    start = time.perf_counter()
    t, sched = config.train, config.tricks.lr_schedule
    torch.manual_seed(t.seed)
    model = build_model(data.spec, config).to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.tricks.weight_decay.value},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=t.lr, betas=(t.momentum, 0.999), foreach=True)
    x_train, y_train = data.train.x, data.train.y
    n, bs = len(y_train), t.batch_size
    steps = math.ceil(n / bs)
    total = steps * t.epochs
    warm = sched.warmup_steps or round(sched.warmup_epochs * steps)

    def factor(s: int) -> float:  # the LR factor before optimizer step s + 1
        if s < warm:
            return sched.warmup_start_factor + (1 - sched.warmup_start_factor) * s / warm
        return (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))) / 2

    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    gen = torch.Generator(device=device).manual_seed(t.seed)
    vocab = data.spec.num_classes
    for _ in range(t.epochs):
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)
        xs, ys = x_train[perm], y_train[perm]
        loss_sum = torch.zeros((), device=device)
        for b in range(steps):
            xb, yb = xs[b * bs : (b + 1) * bs], ys[b * bs : (b + 1) * bs]
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
                loss = F.cross_entropy(model(xb).reshape(-1, vocab), yb.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.tricks.grad_clip.threshold)
            opt.step()
            lr_sched.step()
            loss_sum += loss.detach()
        assert math.isfinite(loss_sum.item())
        _evaluate(model, data.val.x, data.val.y, precision, device, vocab)
    _evaluate(model, data.test.x, data.test.y, precision, device, vocab)
    return time.perf_counter() - start


@torch.no_grad()
def _evaluate(model, x, y, precision, device, vocab) -> float:
    model.eval()
    total = torch.zeros((), device=device)
    for i in range(0, len(y), 1024):
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
            logits = model(x[i : i + 1024])
        total += F.cross_entropy(logits.float().reshape(-1, vocab), y[i : i + 1024].reshape(-1), reduction="sum")
    model.train()
    return total.item() / y.numel()


def compare(preset: str, args, corpus: Path, tmp: Path) -> None:
    overrides = [("data.path", str(corpus), "--set"), ("train.device", args.device, "--device"),
                 ("train.threads", args.threads, "--threads"), ("train.epochs", args.epochs, "--epochs"),
                 ("tricks.mixed_precision.enabled", False, "--set"), ("tricks.early_stopping.enabled", False, "--set"),
                 ("sample.every_epoch", False, "--set"), *args.overrides]
    config, _ = load_preset(preset, overrides)
    device = resolve_device(config.train.device)
    precision = resolve_precision(config, device)
    torch.set_num_threads(choose_threads(config.train.threads))
    data = load_data(config.data, device)
    tokens = len(data.train) * data.spec.input_shape[0] * config.train.epochs
    runs = {"engine": lambda: engine_run(config, data, tmp),
            "plain": lambda: plain_loop(config, data, device, precision)}
    ratios = alternate(runs, args.repeats, tokens, "tokens/s", f"{preset} ")
    model = build_model(data.spec, config).to(device)
    started = time.perf_counter()
    generate_text(model, data.spec.classes, config.sample.prompt, config.sample.length, config.sample.temperature,
                  config.sample.top_k, 0)
    sample = time.perf_counter() - started
    epoch = engine_run(config, data, tmp) / config.train.epochs  # seconds, with its validation
    print(f"{preset}: device {device}, precision {precision.name}, threads "
          f"{torch.get_num_threads()}; one live sample of {config.sample.length} characters takes {sample:.2f} s "
          f"({100 * sample / epoch:.1f} % of an epoch of this corpus)")
    print(f"{preset}: median engine/plain tokens/s ratio: {statistics.median(ratios):.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["lstm-text", "transformer-text"])
    parser.add_argument("--repeats", type=int, default=4, help="engine/plain pairs")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--chars", type=int, default=120_000, help="characters of the default corpus to use")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text(read_text(DataConfig(dataset="text"))[0][: args.chars], encoding="utf-8")
        for preset in args.presets:
            compare(preset, args, corpus, Path(tmp))


if __name__ == "__main__":
    main()
