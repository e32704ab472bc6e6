"""One training step, written once: the loop runs it between its step statistics and its
non-finite guard (:mod:`.trainer`), and the LR finder runs it on its copy of the model
(:mod:`.lr_find`). A trick that acts inside a step is one line here, and reaches both.

The step is two halves, because the loop decides between them whether the update happens
(``train.on_nonfinite = "skip"``): :meth:`Step.backward` gives the loss and the pre-clip
gradient norm, :meth:`Step.update` moves the weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .optim import apply_sgd_decoupled_decay

if TYPE_CHECKING:
    from .parts import Parts
    from .precision import Precision


class Step:
    def __init__(self, parts: Parts, precision: Precision, device: torch.device):
        self.parts = parts
        self.device_type, self.dtype, self.autocast = device.type, precision.dtype, precision.enabled
        self.optimizer = parts.optim.optimizer

    def autocast_context(self) -> torch.autocast:
        """The step's mixed precision, for its forward pass and one outside it (the activation probe)."""
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.autocast)

    def backward(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's loss and the global gradient norm before clipping, both on the device."""
        p, optimizer = self.parts, self.optimizer
        with self.autocast_context():  # mixed_precision
            loss = p.task.loss(p.net(xb), yb)  # label_smoothing: in the task's loss
        optimizer.zero_grad(set_to_none=True)
        p.scaler.scale(loss).backward()  # mixed_precision, fp16: the loss scaled (else as it is)
        p.scaler.unscale_(optimizer)  # clip and measure the true gradients
        return loss, p.clip()  # grad_clip: the pre-clip norm is measured, clipping on or off

    def update(self) -> None:
        """The optimizer step, then what follows each step: the per-batch schedule and the average."""
        p = self.parts
        with p.optim.scaled():  # an LR multiplier set while it trains
            apply_sgd_decoupled_decay(p.optim)  # weight_decay: decoupled, for SGD (AdamW does it itself)
            p.scaler.step(self.optimizer)  # fp16: skipped where the gradients overflowed
            p.scaler.update()
        p.schedule.after_batch()  # lr_schedule: warm-up and the per-batch schedules
        if p.ema is not None:
            p.ema.update_parameters(p.model)  # ema: the average that validation, best.pt and the test use
