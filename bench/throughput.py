"""Engine throughput against a plain hand-written PyTorch loop, in one process.

Each preset is trained with the engine (as `tui-trainer train` runs it: run folder,
metrics.jsonl, checkpoints every epoch) and with a plain loop written the way one
writes it by hand (same data on the device, same model, same tricks, same seed, same
thread count): warm-up plus cosine LR set per step, AdamW with biases and norm weights
undecayed, clip_grad_norm_, loss summed on the device and read once per epoch,
validation every epoch with early-stopping bookkeeping, and a final test score.
The two alternate (engine, plain, plain, engine, ...) in many short pairs, because a
shared machine's speed drifts by 10-20 % from one second to the next, and the last line
is the median engine/plain samples/s ratio over all pairs.

    python bench/throughput.py                      # both presets, CPU
    python bench/throughput.py --device cuda --repeats 5
    python bench/throughput.py --set tricks.mixed_precision.enabled=true --device cuda
    python bench/throughput.py --probe-every 10     # also the doctor's activation probe's cost

With ``--probe-every N`` a third run joins each pair: the engine with the activation probe off
(``train.activations_every = 0``), while the engine's own run probes every N steps; the cost of the
probe is the median samples/s ratio of the two engines (probing / not), and it is printed per preset.

With ``--own PRESET_FILE`` a third run joins each pair too: that preset, the same settings with the
model written as the user's own (``model.kind = "python"``, e.g. ``examples/cnn1d/mnist1d-cnn.toml``,
cnn-mnist1d's CNN in a file of its own; the bench checks that nothing else differs), and the median
samples/s ratio own/built-in is printed:

    python bench/throughput.py cnn-mnist1d --own examples/cnn1d/mnist1d-cnn.toml
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

from tui_trainer.config import replace  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.engine.precision import choose_threads, resolve_device, resolve_precision  # noqa: E402
from tui_trainer.engine.setup import steps_per_epoch  # noqa: E402
from tui_trainer.engine.trainer import Trainer  # noqa: E402
from tui_trainer.models import build_model  # noqa: E402
from tui_trainer.runs import RunFolder  # noqa: E402

SUPPORTED = ("plain loop supports: adam, cosine schedule (with warm-up) or none, clipping by norm or none, "
             "decoupled decay")


def plain_loop(config, data, device, precision) -> float:
    """Train like a hand-written loop; return the wall time."""
    t, tricks = config.train, config.tricks
    assert t.optimizer == "adam", SUPPORTED
    assert not tricks.lr_schedule.enabled or tricks.lr_schedule.kind == "cosine", SUPPORTED
    assert not tricks.grad_clip.enabled or tricks.grad_clip.mode == "norm", SUPPORTED
    assert not tricks.weight_decay.enabled or tricks.weight_decay.mode == "decoupled", SUPPORTED
    start = time.perf_counter()
    torch.manual_seed(t.seed)
    model = build_model(data.spec, config).to(device)
    params = list(model.parameters())
    wd = tricks.weight_decay.value if tricks.weight_decay.enabled else 0.0
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": wd},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=t.lr, betas=(t.momentum, 0.999))
    scaler = torch.amp.GradScaler(device.type) if precision.use_scaler else None
    n, bs = len(data.train), t.batch_size
    spe = steps_per_epoch(n, bs)
    total = t.epochs * spe
    sched = tricks.lr_schedule
    warm = min(round(sched.warmup_epochs * spe), total) if sched.enabled else 0

    def get_lr(it: int) -> float:
        if not sched.enabled:
            return t.lr
        if it < warm:
            return t.lr * (sched.warmup_start_factor + (1 - sched.warmup_start_factor) * it / warm)
        progress = (it - warm) / max(1, total - warm)
        return sched.min_lr + (t.lr - sched.min_lr) * (1 + math.cos(math.pi * progress)) / 2

    gen = torch.Generator(device=device).manual_seed(t.seed)
    best, best_state, wait = math.inf, None, 0
    it = 0
    for _ in range(t.epochs):
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)
        xs, ys = data.train.x[perm], data.train.y[perm]
        loss_sum = torch.zeros((), device=device)
        for b in range(spe):
            lr = get_lr(it)
            for g in opt.param_groups:
                g["lr"] = lr
            xb, yb = xs[b * bs : (b + 1) * bs], ys[b * bs : (b + 1) * bs]
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if tricks.grad_clip.enabled:
                torch.nn.utils.clip_grad_norm_(params, tricks.grad_clip.threshold)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            loss_sum += loss.detach()
            it += 1
        train_loss = loss_sum.item() / spe
        val_loss = _evaluate(model, data.val, precision, device)
        if val_loss < best:
            best, wait = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            wait += 1
        if tricks.early_stopping.enabled and wait >= tricks.early_stopping.patience:
            break
    assert math.isfinite(train_loss)
    if best_state is not None and tricks.early_stopping.enabled and tricks.early_stopping.restore_best:
        model.load_state_dict(best_state)
    _evaluate(model, data.test, precision, device)
    return time.perf_counter() - start


@torch.no_grad()
def _evaluate(model, split, precision, device) -> float:
    model.eval()
    with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
        logits = model(split.x)
    loss = F.cross_entropy(logits.float(), split.y).item()
    model.train()
    return loss


def engine_run(config, data, runs_dir: Path) -> float:
    start = time.perf_counter()
    trainer = Trainer(config, data=data, run_folder=RunFolder.create(runs_dir, config.name))
    trainer.run()
    return time.perf_counter() - start


def same_but_the_model(config, path: Path, overrides):
    """The preset at ``path`` with the bench's overrides, after checking that it is ``config`` in all but its
    model (and name): the comparison is of the model's code alone. Its code is this repository's own example."""
    import os

    from tui_trainer.config import config_to_dict

    os.environ["TUI_TRAINER_TRUST"] = "1"
    own, _ = load_preset(path, overrides)
    mine, theirs = config_to_dict(config), config_to_dict(own)
    differ = [k for k in mine if k not in ("model", "name", "description") and mine[k] != theirs.get(k)]
    assert own.model.kind == "python" and not differ, f"{path} differs from the preset in more than its model: {differ}"
    return own


def timed(fn, *args) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds of one call. The CPU time is steadier
    on a shared machine; it counts every thread of the process, so it is comparable only
    at one torch thread (or on a GPU, where it measures the host side)."""
    cpu = time.process_time()
    wall = fn(*args)
    return wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=["cnn-mnist1d", "lstm-mnist1d"])
    parser.add_argument("--repeats", type=int, default=16, help="engine/plain pairs per preset")
    parser.add_argument("--epochs", type=str, default="cnn-mnist1d=2,lstm-mnist1d=1",
                        help="epochs per run, PRESET=N,...")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both loops (1 is "
                                                               "steadiest on a shared machine)")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--own", type=Path, default=None, metavar="PRESET_FILE",
                        help="also time this preset: the same settings with the model as the user's own code")
    parser.add_argument("--probe-every", type=int, default=0, metavar="N",
                        help="also time the engine with the activation probe off, the engine's own run probing "
                             "every N steps: the probe's cost")
    args = parser.parse_args()
    epochs = dict(item.split("=") for item in args.epochs.split(",") if item)
    all_ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            overrides = [("train.device", args.device, "--device"), ("train.threads", args.threads, "--threads"),
                         *args.overrides]
            if name in epochs:
                overrides.append(("train.epochs", int(epochs[name]), "--epochs"))
            if args.probe_every:
                overrides.append(("train.activations_every", args.probe_every, "--probe-every"))
            config, _ = load_preset(name, overrides)
            unprobed = replace(config, {"train.activations_every": 0})
            own = same_but_the_model(config, args.own, overrides) if args.own else None
            device = resolve_device(config.train.device)
            precision = resolve_precision(config, device)
            torch.set_num_threads(choose_threads(config.train.threads))
            data = load_data(config.data, device)
            samples = len(data.train) * config.train.epochs
            engine_run(config, data, Path(tmp))  # warm-up, not measured
            plain_loop(config, data, device, precision)
            ratios, cpu_ratios, probe_ratios, probe_cpu = [], [], [], []
            runs = {"engine": lambda: engine_run(config, data, Path(tmp)),
                    "plain": lambda: plain_loop(config, data, device, precision),
                    "unprobed": lambda: engine_run(unprobed, data, Path(tmp)),
                    "own": lambda: engine_run(own, data, Path(tmp))}
            labels = ["engine", "plain"] + (["unprobed"] if args.probe_every else []) + (["own"] if own else [])
            own_ratios, own_cpu = [], []
            if own is not None:
                engine_run(own, data, Path(tmp))  # warm-up: its import, not measured
            for rep in range(args.repeats):
                order = labels[rep % len(labels):] + labels[:rep % len(labels)]  # each first in turn
                order = order if rep % 2 == 0 else order[::-1]
                times = {label: timed(runs[label]) for label in order}
                if args.probe_every:
                    probe_ratios.append(times["unprobed"][0] / times["engine"][0])
                    probe_cpu.append(times["unprobed"][1] / times["engine"][1])
                if own is not None:
                    own_ratios.append(times["engine"][0] / times["own"][0])  # samples/s ratio own/built-in
                    own_cpu.append(times["engine"][1] / times["own"][1])
                ratio = times["plain"][0] / times["engine"][0]  # samples/s ratio engine/plain
                cpu_ratio = times["plain"][1] / times["engine"][1]
                ratios.append(ratio)
                cpu_ratios.append(cpu_ratio)
                print(
                    f"{name} pair {rep + 1}: engine {samples / times['engine'][0]:,.0f} samples/s, "
                    f"plain {samples / times['plain'][0]:,.0f} samples/s, ratio {ratio:.3f} "
                    f"(by CPU time {cpu_ratio:.3f})",
                    flush=True,
                )
            q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
            print(f"{name}: median engine/plain ratio {statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f}) "
                  f"(by CPU time {statistics.median(cpu_ratios):.3f}) "
                  f"({config.train.epochs} epochs, device {device}, precision {precision.name}, "
                  f"threads {torch.get_num_threads()}, tricks {','.join(config.tricks_on())})", flush=True)
            if probe_ratios:
                q1, _, q3 = statistics.quantiles(probe_ratios, n=4) if len(probe_ratios) > 1 else (probe_ratios[0],) * 3
                print(f"{name}: activation probe every {args.probe_every} steps: median samples/s ratio probing/not "
                      f"{statistics.median(probe_ratios):.3f} (quartiles {q1:.3f}-{q3:.3f}) "
                      f"(by CPU time {statistics.median(probe_cpu):.3f})", flush=True)
            if own_ratios:
                q1, _, q3 = statistics.quantiles(own_ratios, n=4) if len(own_ratios) > 1 else (own_ratios[0],) * 3
                print(f"{name}: the model as your own code ({args.own}): median samples/s ratio own/built-in "
                      f"{statistics.median(own_ratios):.3f} (quartiles {q1:.3f}-{q3:.3f}) "
                      f"(by CPU time {statistics.median(own_cpu):.3f})", flush=True)
            all_ratios.extend(ratios)
    print(f"median engine/plain samples/s ratio: {statistics.median(all_ratios):.3f}")


if __name__ == "__main__":
    main()
