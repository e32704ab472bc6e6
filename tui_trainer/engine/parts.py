"""A run's parts, built once by :func:`build_parts` before the first step.

:class:`Parts` is what trains (where and how is the :class:`~.setup.Setup`). Each part with
state owns it, and saves and restores it through ``state_dict()`` / ``load_state_dict()``;
``last.pt`` is the loop over :meth:`Parts.stateful`.
The step uses the parts directly (:mod:`.step`); a part that may be steered while the run
trains declares its knobs (:mod:`.knobs`) and keeps what was steered in its own state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..config.tricks import EmaConfig
from ..data import InputPipeline
from ..models import build_model
from ..models.python import check_output, is_own
from .early_stopping import EarlyStopping
from .clip import Clipper, make_clipper
from .knobs import Dropouts, Steerable
from .optim import OptimizerSetup, build_optimizer
from .schedule import LRSchedule
from .setup import Setup
from .task import Task, input_pipeline, task_for


@dataclass
class Parts:
    """What trains, each part owning its state."""

    task: Task  # the loss and metrics; which metric early stopping watches
    inputs: InputPipeline  # augment, and images to normalised floats, per batch on the device
    model: nn.Module  # the plain module: checkpoints, evaluation, samples
    net: nn.Module  # what the steps run: DDP under torchrun
    optim: OptimizerSetup  # the optimizer, its parameters, SGD's decoupled decay, the steered LR multiplier
    clip: Clipper  # after DDP's all-reduce: the global gradient
    dropouts: Dropouts  # the model's Dropout layers, whose p may be steered
    schedule: LRSchedule
    early: EarlyStopping  # monitor "auto": the task's own metric
    scaler: torch.amp.GradScaler  # fp16 mixed precision; a pass-through when disabled
    ema: Ema | None  # tricks.ema: the average of the weights, updated after each step
    shuffle: torch.Generator  # the order of the batches

    @property
    def judged(self) -> nn.Module:
        """The weights validation, early stopping, ``best.pt`` and the test score use: the
        average (``tricks.ema``) when it is on, else the model's own."""
        return self.ema.module if self.ema is not None else self.model

    def stateful(self) -> dict[str, Any]:
        """The parts with state, by their key in ``last.pt``."""
        parts = {"model": self.model, "optimizer": self.optim, "schedule": self.schedule, "scaler": self.scaler,
                 "early_stopping": self.early, "ema": self.ema, "clip": self.clip, "dropout": self.dropouts}
        return {key: part for key, part in parts.items() if part is not None}

    def steerable(self) -> list[Steerable]:
        """The parts a live run may be steered through (their knobs: :mod:`.steering`)."""
        return [self.optim, self.clip, self.dropouts, self.early]

    def state_dict(self) -> dict[str, Any]:
        return {key: part.state_dict() for key, part in self.stateful().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, part in self.stateful().items():
            if state.get(key):  # a disabled scaler saves nothing
                part.load_state_dict(state[key])


def build_parts(setup: Setup, model: nn.Module | None = None) -> Parts:
    """The parts, in the order that keeps a seed's run the same: the model's initial weights
    come from the global RNG seeded before the data loaded. ``model``: train this one instead of
    a new one (the LR finder's copy of a run's model, in a single process)."""
    cfg, dist, device, data = setup.config, setup.dist, setup.device, setup.data
    task = task_for(data.spec.task, cfg, data.targets)
    task.check(data, cfg)
    inputs = input_pipeline(data, cfg)
    if model is None:
        dist.start(device, cfg.distributed)
        model = build_model(data.spec, cfg).to(device)
        if is_own(cfg):  # the user's model: its output checked on one batch, before any folder
            x, y = next(iter(data.val.batches(2)))
            check_output(model, data.spec, inputs.prepare(x), y, cfg)
    optim = build_optimizer(model, cfg)
    ema = Ema(model, cfg.tricks.ema) if cfg.tricks.ema.enabled else None  # before DDP's wrap: plain BatchNorm
    net = dist.wrap(model, device, cfg.distributed.sync_batchnorm)
    dist.seed_dropout(cfg.train.seed)
    return Parts(
        task=task, inputs=inputs, model=model, net=net, optim=optim,
        clip=make_clipper(optim.params, cfg),
        dropouts=Dropouts(model),
        schedule=LRSchedule(optim.optimizer, cfg.tricks.lr_schedule, cfg.train.lr, cfg.train.epochs,
                            setup.steps_per_epoch),
        early=EarlyStopping(cfg.tricks.early_stopping, task.monitor),
        scaler=torch.amp.GradScaler(device.type, enabled=setup.precision.use_scaler),
        ema=ema,
        shuffle=torch.Generator(device=device).manual_seed(cfg.train.seed),
    )


class Ema(AveragedModel):
    """``tricks.ema``: ``average ← decay × average + (1 - decay) × weights`` after each step, with
    torch's :class:`~torch.optim.swa_utils.AveragedModel` and ``get_ema_multi_avg_fn``.
    BatchNorm's running statistics are averaged too (``use_buffers``), as timm's ``ModelEmaV3``
    does, so the average's statistics match its weights. With ``warmup`` the n-th update uses
    ``min(decay, (1 + n) / (10 + n))`` (TensorFlow's ``ExponentialMovingAverage(num_updates=)``);
    the count is kept on the host (a copy of ``n_averaged``), so no step waits for the device.

    Under torchrun each process averages the same all-reduced weights, so the averages agree; their
    BatchNorm statistics are process 0's at evaluation, as the model's are."""

    def __init__(self, model: nn.Module, config: EmaConfig):
        super().__init__(model, multi_avg_fn=self._average, use_buffers=True)
        self.decay, self.warmup = config.decay, config.warmup
        self.fixed = get_ema_multi_avg_fn(config.decay)
        self.updates = 0  # = n_averaged

    def _average(self, averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates)) if self.warmup else self.decay
        (self.fixed if decay == self.decay else get_ema_multi_avg_fn(decay))(averaged, current, n)

    def update_parameters(self, model: nn.Module) -> None:
        super().update_parameters(model)  # the first call copies the weights
        self.updates += 1

    def load_state_dict(self, state: dict[str, Any], strict: bool = True, assign: bool = False) -> Any:
        result = super().load_state_dict(state, strict, assign)
        self.updates = int(self.n_averaged)
        return result
