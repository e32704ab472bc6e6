"""Where and how a run trains, resolved once before anything is built: the device, the
precision, the threads, the processes, the data and the steps in an epoch (:func:`resolve_setup`).

Anything that cannot work here is refused by a :class:`~.precision.SetupError` before a single
step runs (and before a run folder exists: callers attach one after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..config import Config
from ..data import Datasets, load_data
from ..data.spec import Progress
from .distributed import Distributed
from .memory import tune_allocator
from .precision import Precision, SetupError, choose_threads, resolve_device, resolve_precision


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches plus the last partial one, unless it would hold a single sample
    (BatchNorm cannot normalise a batch of one); that sample is reshuffled next epoch."""
    full, rest = divmod(n, batch_size)
    return max(1, full + (1 if rest >= 2 else 0))


@dataclass
class Setup:
    """Where and how the run trains, fixed for the run."""

    config: Config
    device: torch.device
    precision: Precision
    threads: int
    dist: Distributed
    data: Datasets
    steps_per_epoch: int = 0
    epoch_samples: int = 0  # trained in an epoch, over every process
    tokens_per_sample: int = 0  # a language model's: for tokens/s


def resolve_setup(config: Config, dist: Distributed, data: Datasets | None, progress: Progress,
                  allow_emulated_bf16: bool, resume: dict[str, Any] | None) -> Setup:
    """Choose the device, precision and threads, seed the global RNG, and load the data (or move
    the data given to the device). ``resume``: the ``last.pt`` a run continues from."""
    cfg = config
    tune_allocator()
    device = dist.device(resolve_device(cfg.train.device))
    precision = resolve_precision(cfg, device, allow_emulated_bf16)
    threads = choose_threads(dist.threads(cfg.train.threads))
    torch.set_num_threads(threads)
    torch.set_flush_denormal(cfg.train.flush_denormal and device.type == "cpu")  # this (the training) thread
    torch.manual_seed(cfg.train.seed)
    if data is None:
        data = load_data(cfg.data, device, progress)
    elif data.train.device != device:
        data = data.to(device)
    if resume is not None and resume.get("world_size", 1) != dist.world_size:
        n = resume.get("world_size", 1)
        raise SetupError(f"--resume: this run trained on {n} process{'es' if n > 1 else ''}; resume it on as many "
                         f"({'--nproc ' + str(n) if n > 1 else 'without --nproc or torchrun'}), so it goes on exactly")
    n, bs = len(data.train), cfg.train.batch_size
    steps = dist.check_batch(bs, n) if dist.enabled else steps_per_epoch(n, bs)
    return Setup(cfg, device, precision, threads, dist, data, steps, steps * bs if dist.enabled else n)
