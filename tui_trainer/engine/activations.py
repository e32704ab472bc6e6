"""Activations, which a run's losses and gradient norms cannot show: ReLU units that no input of
a batch turns on (dead: they pass no gradient, so they never learn again), and tanh, sigmoid or
plain-RNN outputs pinned near their limits (saturated: their slope is near zero, so the gradient
through them vanishes). Two of AutoTrainer's problems (Zhang et al., ICSE 2021), read by the doctor.

Every ``train.activations_every`` steps :class:`ActivationProbe` runs the model once on a copy of
the session's first training batch, in eval mode and without gradients (no dropout, BatchNorm on
its running statistics, no random number drawn: the run trains exactly as it would without it),
with forward hooks on those layers, and fetches one share per layer in a single transfer. The
cost is one forward pass of one batch every so many steps (``bench/throughput.py``); 0 switches
it off. Only process 0 of a run over several measures.

What is measured, and what is not:

- a ReLU (``nn.ReLU``, ``nn.ReLU6``) unit is a feature of a 2-D output, or a channel (dimension 1)
  of a 3-D or larger one (channels first, as convolutions write them); it is dead when it is zero
  for every sample and position of the batch;
- ``nn.Tanh`` and a plain ``nn.RNN`` (tanh) are saturated where ``|y| > 0.99`` (slope under 0.02),
  ``nn.Sigmoid`` where ``y < 0.01`` or ``y > 0.99`` (slope under 0.01): the share of all values;
- functional calls (``F.relu``) have no module to hook, and the gates of ``nn.LSTM`` and
  ``nn.GRU`` are inside their fused kernels: neither is measured.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Callable

import torch
from torch import nn

from .events import ActivationStats

PROBE_SAMPLES = 256  # the batch kept for the probe: at most this many samples of the first one
SATURATED = 0.99  # a tanh output beyond ±0.99 (a sigmoid's beyond 0.01 or 0.99) is saturated


def _dead(y: torch.Tensor) -> torch.Tensor:
    """The share of units (features, or channels first) zero for every sample and position."""
    units = y.transpose(0, 1).reshape(y.shape[1], -1) if y.dim() >= 2 else y.reshape(1, -1)
    return (units > 0).any(dim=1).logical_not().float().mean()


def _saturated_tanh(y: torch.Tensor) -> torch.Tensor:
    return (y.abs() > SATURATED).float().mean()


def _saturated_sigmoid(y: torch.Tensor) -> torch.Tensor:
    return ((y < 1 - SATURATED) | (y > SATURATED)).float().mean()


def measure_of(module: nn.Module) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]] | None:
    """("dead" or "saturated", the share it measures) for a layer the probe reads, else None."""
    if isinstance(module, (nn.ReLU, nn.ReLU6)):
        return "dead", _dead
    if isinstance(module, nn.Tanh) or (type(module) is nn.RNN and module.nonlinearity == "tanh"):
        return "saturated", _saturated_tanh
    if isinstance(module, nn.Sigmoid):
        return "saturated", _saturated_sigmoid
    return None


class ActivationProbe:
    """Measures the model's dead and saturated units every ``every`` steps (see the module's text)."""

    def __init__(self, model: nn.Module, every: int, autocast: Callable[[], Any] = nullcontext, enabled: bool = True):
        self.model, self.every, self.autocast = model, every, autocast
        self.layers = [(f"{name} ({type(module).__name__})" if name else type(module).__name__, module, found)
                       for name, module in model.named_modules() if (found := measure_of(module)) is not None]
        self.enabled = enabled and every > 0 and bool(self.layers)
        self.batch: torch.Tensor | None = None

    def keep(self, xb: torch.Tensor) -> None:
        """The session's first batch, as the model sees it, copied once."""
        if self.enabled and self.batch is None:
            self.batch = xb[:PROBE_SAMPLES].detach().clone()

    def due(self, step: int) -> bool:
        """Whether the step just done (``step`` steps so far) is one the probe measures after."""
        return self.enabled and self.batch is not None and step % self.every == 0

    def measure(self, step: int, epoch: int) -> ActivationStats:
        """One forward pass of the kept batch with the hooks on; the model's mode is restored."""
        shares: dict[str, tuple[str, torch.Tensor]] = {}
        handles = [module.register_forward_hook(self._hook(name, kind, share, shares))
                   for name, module, (kind, share) in self.layers]
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), self.autocast():
                self.model(self.batch)
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(training)
        names = list(shares)
        values = torch.stack([shares[n][1] for n in names]).tolist() if names else []  # one transfer
        dead = {n: v for n, v in zip(names, values) if shares[n][0] == "dead"}
        saturated = {n: v for n, v in zip(names, values) if shares[n][0] == "saturated"}
        return ActivationStats(epoch=epoch, step=step, dead=dead, saturated=saturated, samples=len(self.batch))

    @staticmethod
    def _hook(name: str, kind: str, share: Callable[[torch.Tensor], torch.Tensor],
              shares: dict[str, tuple[str, torch.Tensor]]) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            y = output[0] if isinstance(output, tuple) else output  # nn.RNN: (outputs, last hidden state)
            key, n = name, 2
            while key in shares:  # a layer called twice in one forward pass: each call its own
                key, n = f"{name}#{n}", n + 1
            shares[key] = (kind, share(y.detach().float()))
        return hook
