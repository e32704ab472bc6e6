"""What two of the engine's choices buy, as separate `tui-trainer train` processes alternated in
pairs (each setting first in turn), with the machine named:

- ``threads``: one torch thread against two, on an idle machine and beside a busy process (a
  loop of pure Python on one core), the figures behind ``train.threads``' advice;
- ``allocator``: glibc's allocator tuned for a training loop (engine/memory.py) against glibc as
  it is (``TUI_TRAINER_MALLOC=default``): samples/s and the run's peak memory.

    python bench/settings.py threads                      # cnn-mnist1d, 3 pairs
    python bench/settings.py allocator --preset lstm-mnist1d --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

from headless import train_summary
from machine import machine


def train(preset: str, epochs: int, threads: int, env: dict | None = None) -> dict:
    """The summary of one `tui-trainer train` process of ``epochs`` epochs on ``threads`` threads."""
    return train_summary(preset, "--epochs", str(epochs), "--no-early-stopping", "--threads", str(threads), env=env)


@contextmanager
def busy() -> Iterator[None]:
    """Another process keeping one core busy."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def pairs(runs: dict, repeats: int) -> dict[str, list[dict]]:
    """Each of ``runs`` (name -> a function giving a summary) once a pair, the order turning."""
    out: dict[str, list[dict]] = {name: [] for name in runs}
    names = list(runs)
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            out[name].append(runs[name]())
    return out


def rate(summary: dict) -> float:
    return summary["train_samples_per_second"]


def threads(args) -> None:
    for where in ("idle", "beside a busy process"):
        runs = {f"{n} thread{'s' if n > 1 else ''}": (lambda n=n: train(args.preset, args.epochs, n)) for n in (1, 2)}
        if where == "idle":
            got = pairs(runs, args.repeats)
        else:
            with busy():
                got = pairs(runs, args.repeats)
        one, two = (statistics.median(rate(s) for s in got[k]) for k in runs)
        print(f"{where}: 1 thread {one:,.0f} samples/s, 2 threads {two:,.0f} (2/1: {two / one:.2f}); "
              f"pairs of 2/1: {', '.join(f'{rate(b) / rate(a):.2f}' for a, b in zip(*got.values()))}")


def allocator(args) -> None:
    runs = {"tuned": lambda: train(args.preset, args.epochs, 1),
            "glibc as it is": lambda: train(args.preset, args.epochs, 1, {"TUI_TRAINER_MALLOC": "default"})}
    got = pairs(runs, args.repeats)
    for name, summaries in got.items():
        peaks = [s.get("peak_memory", {}).get("rss_mb") for s in summaries]
        print(f"{name}: {', '.join(f'{rate(s):,.0f}' for s in summaries)} samples/s; peak RSS "
              f"{', '.join(f'{p:.0f}' for p in peaks if p is not None)} MB")
    tuned, plain = (statistics.median(rate(s) for s in got[k]) for k in runs)
    print(f"tuned/glibc samples/s: {tuned / plain:.2f} (medians of {args.repeats})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("threads", "allocator"))
    parser.add_argument("--preset", default=None, help="default: cnn-mnist1d (threads), lstm-mnist1d (allocator)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.preset = args.preset or ("cnn-mnist1d" if args.what == "threads" else "lstm-mnist1d")
    print(f"{args.what}, {args.preset}, {args.epochs} epochs, on {machine()}")
    {"threads": threads, "allocator": allocator}[args.what](args)


if __name__ == "__main__":
    main()
