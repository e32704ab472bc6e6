"""What the engine-against-plain-loop benches share: one timed engine run with its run folder,
and the alternating pairs (engine, plain, plain, engine, ...) that give the median ratio."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder


def engine_run(config, data, runs_dir: Path) -> float:
    """Seconds for one engine run, writing its run folder, metrics and checkpoints as `train` does."""
    start = time.perf_counter()
    Trainer(config, data=data, run_folder=RunFolder.create(runs_dir, config.name)).run()
    return time.perf_counter() - start


def alternate(runs: dict[str, Callable[[], float]], repeats: int, amount: float, unit: str,
              prefix: str = "") -> list[float]:
    """Time ``runs["engine"]`` and ``runs["plain"]`` in pairs, alternating which goes first, after
    one unmeasured warm-up of each; print each pair's ``amount / seconds`` in ``unit`` and return
    the plain/engine time ratios (above 1: the engine is faster)."""
    runs["engine"](), runs["plain"]()  # warm-up, not measured
    ratios = []
    for rep in range(repeats):
        order = ["engine", "plain"] if rep % 2 == 0 else ["plain", "engine"]
        times = {label: runs[label]() for label in order}
        ratios.append(times["plain"] / times["engine"])
        print(f"{prefix}pair {rep + 1}: engine {amount / times['engine']:,.0f} {unit}, plain "
              f"{amount / times['plain']:,.0f} {unit}, ratio {ratios[-1]:.3f}", flush=True)
    return ratios
