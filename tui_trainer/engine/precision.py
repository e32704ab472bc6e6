"""Device, thread count and the mixed-precision trick, decided before training starts.

Where a choice cannot work here, :class:`SetupError` says so and what to change,
before a single step runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config.schema import Config
from ..errors import UserError
from ..models.python import is_own, refused_switch


class SetupError(UserError):
    """A device or trick that cannot apply on this machine or model."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SetupError("train.device: 'cuda' was asked for, but torch sees no CUDA GPU "
                         "here; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise SetupError("train.device: 'mps' was asked for, but this machine has no Apple "
                         "GPU; use --device cpu or auto")
    return torch.device(name)


_DEFAULT_THREADS = torch.get_num_threads()


def choose_threads(requested: int) -> int:
    """0 = torch's default (one thread per core). ``python bench/settings.py threads`` on 2 cores:
    two threads trained the CNN 1.36x as fast as one on an idle machine, and 0.13x as fast beside
    one busy process; ``--threads 1`` is the choice for a shared machine."""
    if requested > 0:
        return requested
    return _DEFAULT_THREADS


def cpu_has_native_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@dataclass(frozen=True)
class Precision:
    name: str  # "fp32", "bf16" or "fp16"
    dtype: torch.dtype | None  # the autocast dtype; None = no autocast
    use_scaler: bool  # fp16 needs a GradScaler

    @property
    def enabled(self) -> bool:
        return self.dtype is not None


FP32 = Precision("fp32", None, False)


def resolve_precision(config: Config, device: torch.device, allow_emulated_bf16: bool = False) -> Precision:
    """The autocast dtype for this device, or a SetupError that says why mixed precision cannot apply.

    ``allow_emulated_bf16`` lets tests run bf16 autocast on a CPU without native bf16,
    where users are refused because it is several times slower than fp32.
    """
    mp = config.tricks.mixed_precision
    if not mp.enabled:
        return FP32
    off = "switch it off with --no-mixed-precision (or tricks.mixed_precision.enabled = false)"
    if device.type == "cuda":
        if mp.dtype == "fp16" or (mp.dtype == "auto" and not torch.cuda.is_bf16_supported()):
            return Precision("fp16", torch.float16, mp.grad_scaler)
        if not torch.cuda.is_bf16_supported():
            raise SetupError("tricks.mixed_precision.dtype: this GPU has no bf16 support; use dtype = "
                             f"\"fp16\" or \"auto\", or {off}")
        return Precision("bf16", torch.bfloat16, False)
    if device.type == "cpu":
        if mp.dtype == "fp16":
            raise SetupError("tricks.mixed_precision.dtype: fp16 autocast is for GPUs; on the CPU "
                             f"use dtype = \"bf16\", or {off}")
        if cpu_has_native_bf16() or allow_emulated_bf16:
            return Precision("bf16", torch.bfloat16, False)
        lstm = " and nn.LSTM fails inside oneDNN" if config.model.kind == "lstm" else ""
        raise SetupError(
            "tricks.mixed_precision: this CPU has no native bf16 (no AVX512-BF16 or AMX): "
            f"bf16 autocast would be emulated, far slower than fp32{lstm}. "
            f"Mixed precision is for GPUs and bf16-capable CPUs; {off}"
        )
    raise SetupError(f"tricks.mixed_precision: not supported on device {device.type!r} by tui-trainer; {off}")


def why_not_on_this_machine(config: Config) -> str | None:
    """Why ``config`` cannot train on this machine (its device is missing, or mixed precision
    without a GPU or native bf16), or None."""
    try:
        resolve_precision(config, resolve_device(config.train.device))
    except SetupError as exc:
        return str(exc)
    return None


def why_not_here(config: Config) -> str | None:
    """Why ``config`` cannot train here: on this machine (:func:`why_not_on_this_machine`), or with its
    model (a user's factory that takes no argument for a trick switched on); or None. The same checks
    ``Trainer.prepare`` makes first."""
    if why := why_not_on_this_machine(config):
        return why
    if is_own(config):
        return refused_switch(config)
    return None
