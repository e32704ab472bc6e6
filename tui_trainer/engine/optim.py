"""The optimizer with the weight-decay trick, and the LR multiplier a live run may be steered by.

Weight decay (``tricks.weight_decay``):

- decoupled: each step first shrinks the weights, ``p -= lr * value * p``, apart from the
  gradient (``torch.optim.AdamW``; for SGD the same shrink is applied before ``step()``);
- coupled: L2, ``value * p`` is added to the gradient (``Adam``/``SGD``'s ``weight_decay``),
  so with Adam it is rescaled by the adaptive denominator;
- biases and normalisation weights (every parameter with fewer than two dimensions) are
  left undecayed unless ``exclude_bias_and_norm = false``.

The LR multiplier (``lr_scale``, steered): the optimizer steps at ``scheduled LR × scale``
while the schedule runs on untouched, and the LR recorded is that product.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from ..config.schema import Config
from .knobs import Refused, Steerable, is_number

_UNSCALED = nullcontext()  # reusable: the steps of an unsteered run


@dataclass(eq=False)
class OptimizerSetup(Steerable):
    """The optimizer and the settings around it that a live run may change: the LR multiplier and
    the decay coefficient. Its ``state_dict`` is the optimizer's, with both of them."""

    KNOBS = {
        "lr_scale": "a multiplier on the schedule's LR (the schedule runs on; the steps use LR × scale)",
        "lr_times": "multiplies the current lr_scale (the app's - and + keys); recorded as lr_scale",
        "weight_decay": "the decay coefficient of the decayed parameters (tricks.weight_decay must be on)",
    }

    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter]  # every trainable parameter, in a fixed order
    #: Decoupled decay for SGD, which torch lacks: parameters to shrink and the coefficient.
    sgd_decoupled: tuple[list[nn.Parameter], float] | None = None
    decays: bool = False  # tricks.weight_decay is on: there is a coefficient to steer
    lr_scale: float = 1.0

    def __post_init__(self) -> None:
        # the groups weight_decay sets, by index: loading a state dict gives the optimizer new group dicts
        self.decayed = [i for i, g in enumerate(self.optimizer.param_groups) if g["weight_decay"] > 0]

    def set_weight_decay(self, value: float) -> None:
        """A new coefficient for the decayed parameters."""
        if self.sgd_decoupled is not None:  # SGD's decoupled decay is applied by the loop, not the optimizer
            self.sgd_decoupled = (self.sgd_decoupled[0], value)
        for i in self.decayed:
            self.optimizer.param_groups[i]["weight_decay"] = value

    def scaled(self):
        """The optimizer steps at ``lr × lr_scale``; the schedule's own LRs are put back after
        (nothing at all to do, and no generator made, while the scale is 1)."""
        return _UNSCALED if self.lr_scale == 1.0 else self._scaled()

    @contextmanager
    def _scaled(self) -> Iterator[None]:
        groups = self.optimizer.param_groups
        saved = [group["lr"] for group in groups]
        for group in groups:
            group["lr"] *= self.lr_scale
        try:
            yield
        finally:
            for group, lr in zip(groups, saved):
                group["lr"] = lr

    # -- steering ------------------------------------------------------------------------

    def resolve(self, knob: str, value: Any) -> tuple[str, Any]:
        if knob == "weight_decay":
            if not self.decays:
                raise Refused("weight decay is off in this run (tricks.weight_decay); there is no coefficient "
                              "to change")
            if not is_number(value) or not 0 <= value <= 1:
                raise Refused(f"weight_decay {value}: must be in [0, 1]")
            return knob, float(value)
        if not is_number(value) or value <= 0:
            raise Refused(f"{knob} {value}: must be a number above 0 (the LR would stop or flip)")
        return "lr_scale", float(value) * (self.lr_scale if knob == "lr_times" else 1.0)

    def apply(self, knob: str, value: Any) -> None:
        if knob == "lr_scale":
            self.lr_scale = value
        else:
            self.set_weight_decay(value)

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state (its groups hold Adam's decay coefficient), the LR multiplier and
        SGD's decoupled coefficient."""
        sgd_decay = self.sgd_decoupled[1] if self.sgd_decoupled is not None else None
        return {**self.optimizer.state_dict(), "lr_scale": self.lr_scale, "sgd_decay": sgd_decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        self.lr_scale = state.pop("lr_scale", 1.0)
        sgd_decay = state.pop("sgd_decay", None)
        self.optimizer.load_state_dict(state)
        if sgd_decay is not None and self.sgd_decoupled is not None:
            self.sgd_decoupled = (self.sgd_decoupled[0], sgd_decay)


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
    return OptimizerSetup(optimizer, params, sgd_decoupled, decays=wd.enabled)


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


