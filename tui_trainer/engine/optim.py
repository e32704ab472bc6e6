"""The optimizer with the weight-decay trick, and the gradient-clipping trick.

Weight decay (``tricks.weight_decay``):

- decoupled: each step first shrinks the weights, ``p -= lr * value * p``, apart from the
  gradient (``torch.optim.AdamW``; for SGD the same shrink is applied before ``step()``);
- coupled: L2, ``value * p`` is added to the gradient (``Adam``/``SGD``'s ``weight_decay``),
  so with Adam it is rescaled by the adaptive denominator;
- biases and normalisation weights (every parameter with fewer than two dimensions) are
  left undecayed unless ``exclude_bias_and_norm = false``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config.schema import Config


@dataclass
class OptimizerSetup:
    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter]  # every trainable parameter, in a fixed order
    #: Decoupled decay for SGD, which torch lacks: parameters to shrink and the coefficient.
    sgd_decoupled: tuple[list[nn.Parameter], float] | None = None

    def __post_init__(self) -> None:
        self.decayed = [g for g in self.optimizer.param_groups if g["weight_decay"] > 0]  # the groups weight_decay sets

    def set_weight_decay(self, value: float) -> None:
        """A new coefficient for the decayed parameters (steering a live run)."""
        if self.sgd_decoupled is not None:  # SGD's decoupled decay is applied by the loop, not the optimizer
            self.sgd_decoupled = (self.sgd_decoupled[0], value)
        for group in self.decayed:
            group["weight_decay"] = value


def build_optimizer(model: nn.Module, config: Config) -> OptimizerSetup:
    train, wd = config.train, config.tricks.weight_decay
    params = [p for p in model.parameters() if p.requires_grad]
    value = wd.value if wd.enabled else 0.0
    if value and wd.exclude_bias_and_norm:
        decay = [p for p in params if p.ndim >= 2]
        groups = [{"params": decay, "weight_decay": value},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    else:
        decay = params
        groups = [{"params": params, "weight_decay": value}]
    decoupled = bool(value) and wd.mode == "decoupled"
    sgd_decoupled = None
    if train.optimizer == "adam":
        cls = torch.optim.AdamW if decoupled else torch.optim.Adam
        optimizer = cls(groups, lr=train.lr, betas=(train.momentum, 0.999), foreach=True)
    else:
        if decoupled:
            for group in groups:
                group["weight_decay"] = 0.0
            sgd_decoupled = (decay, value)
        optimizer = torch.optim.SGD(groups, lr=train.lr, momentum=train.momentum,
                                    nesterov=train.nesterov and train.momentum > 0, foreach=True)
    return OptimizerSetup(optimizer, params, sgd_decoupled)


def apply_sgd_decoupled_decay(setup: OptimizerSetup) -> None:
    """``p -= lr * value * p`` for the decayed parameters, as AdamW does before its update."""
    if setup.sgd_decoupled is None:
        return
    decay, value = setup.sgd_decoupled
    lr = setup.optimizer.param_groups[0]["lr"]
    with torch.no_grad():
        torch._foreach_mul_(decay, 1.0 - lr * value)


def weight_norm(params: list[nn.Parameter]) -> float:
    """The L2 norm of the weights: every parameter of two dimensions or more (what weight decay
    shrinks by default), fetched in one transfer."""
    return float(nn.utils.get_total_norm([p.detach() for p in params if p.ndim >= 2]))


class Clipper:
    """Clips the gradients as the trick says and returns their global L2 norm before clipping
    (measured whether clipping is on or not). ``enabled`` and ``threshold`` may change between
    steps (steering a live run)."""

    def __init__(self, params: list[nn.Parameter], enabled: bool, mode: str, threshold: float):
        self.params, self.enabled, self.mode, self.threshold = params, enabled, mode, threshold

    def set(self, value: str | float) -> None:
        """``"off"``, or clip at this threshold (steering a live run)."""
        self.enabled = value != "off"
        if value != "off":
            self.threshold = float(value)

    def __call__(self) -> torch.Tensor:
        if self.enabled and self.mode == "norm":
            return nn.utils.clip_grad_norm_(self.params, self.threshold)
        norm = nn.utils.get_total_norm([p.grad for p in self.params if p.grad is not None])
        if self.enabled:
            nn.utils.clip_grad_value_(self.params, self.threshold)
        return norm


def clipped(clip: "Clipper", norms: list[float]) -> int | None:
    """How many of these pre-clip norms clipping by norm cut; None when it cannot be told (off, or by value)."""
    if not clip.enabled or clip.mode != "norm":
        return None
    return sum(1 for n in norms if n > clip.threshold)


def make_clipper(params: list[nn.Parameter], config: Config) -> Clipper:
    clip = config.tricks.grad_clip
    return Clipper(params, clip.enabled, clip.mode, clip.threshold)
