"""The LR range test (Leslie Smith's, as fastai's ``lr_find`` runs it): train a copy of the model
for a few dozen steps while the learning rate grows exponentially from ``start`` to ``end``,
and read a good learning rate off the loss curve.

The copy has parts of its own, built by :func:`~.parts.build_parts` as the run's are (its
optimizer with its weight decay, its clipper and scaler) and its own shuffling generator, and
the global RNG is put back afterwards, so the run that follows is exactly the run it would have
been. Each step is the loop's own :class:`~.step.Step`, so every trick of a step applies as in
training (clipping, mixed precision, augmentation); the LR schedule and the weight average do not
(the sweep is the schedule).

The loss is smoothed with a bias-corrected exponential moving average over about a tenth of
the sweep (β = 1 - 10/steps, 0.9 for 100 steps: fastai's fixed 0.98 averages over 50 steps,
half of a 100-step sweep, and drags the curve far to the right of the raw losses), and the
sweep stops once the smoothed loss passes 4 times its minimum. Two suggestions:

- **steepest**: where the smoothed loss falls fastest against log(LR), before its minimum;
- **valley** (fastai's default since 2.5): the longest stretch over which the smoothed loss
  keeps falling, taken halfway along it (in steps, so in log(LR)); usually below the steepest
  point, and more robust to a noisy curve.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import torch

from ..config import replace
from ..errors import UserError
from .parts import build_parts
from .step import Step

if TYPE_CHECKING:
    from .parts import Parts, Setup

#: The finder's batches come in an order of their own, not the run's.
SHUFFLE_SEED = 7_919

DIVERGE = 4.0  # stop once the smoothed loss passes this many times its minimum


@dataclass
class LRFind:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # raw, per step
    smoothed: list[float] = field(default_factory=list)
    stopped: str = ""  # why the sweep ended
    steepest: float | None = None
    valley: float | None = None
    how: dict[str, str] = field(default_factory=dict)  # how each suggestion was picked
    beta: float = 0.9  # the smoothing of the loss

    def to_json(self) -> dict:
        return {"lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed, "stopped": self.stopped,
                "suggestions": {"steepest": self.steepest, "valley": self.valley}, "how": self.how}


def check_range(start: float, end: float, steps: int) -> None:
    if not 0 < start < end:
        raise UserError(f"--start {start:g} --end {end:g}: the sweep needs 0 < start < end")
    if steps < 5:
        raise UserError(f"--steps {steps}: at least 5 steps are needed to read a curve")


def lr_find(setup: Setup, parts: Parts, start: float = 1e-7, end: float = 10.0, steps: int = 100,
            progress: Callable[[int, float, float], None] | None = None) -> LRFind:
    """Run the range test on a copy of a prepared run's model, with its data; the run's model,
    optimizer and every RNG are as they were afterwards."""
    check_range(start, end, steps)
    rng = torch.get_rng_state()
    cfg = setup.config
    own = replace(cfg, {"tricks.lr_schedule.enabled": False, "tricks.ema.enabled": False,
                        "train.seed": cfg.train.seed + SHUFFLE_SEED})
    finder = build_parts(dataclasses.replace(setup, config=own), model=copy.deepcopy(parts.model))
    finder.model.train()
    step = Step(finder, setup.precision, setup.device)
    groups, device, inputs, bs = finder.optim.optimizer.param_groups, setup.device, finder.inputs, cfg.train.batch_size
    result = LRFind()
    ratio = (end / start) ** (1 / (steps - 1))
    beta = max(0.8, 1 - 10 / steps)
    result.beta = beta
    best, avg = math.inf, 0.0
    try:
        done = 0
        while done < steps and not result.stopped:
            train = setup.data.train.for_epoch(finder.shuffle)
            perm = torch.randperm(len(train), device=device, generator=finder.shuffle)
            augment = inputs.draw(len(train), finder.shuffle, device)
            for b, (xb, yb) in enumerate(train.batches(bs, perm, 0, setup.steps_per_epoch)):
                lr = start * ratio**done
                for group in groups:
                    group["lr"] = lr
                loss, _ = step.backward(inputs.prepare(xb, augment, b * bs), yb)
                step.update()
                value = loss.item()  # one sync a step: the sweep decides after each
                done += 1
                avg = beta * avg + (1 - beta) * value
                smooth = avg / (1 - beta**done)
                result.lrs.append(lr)
                result.losses.append(value)
                result.smoothed.append(smooth)
                if progress is not None:
                    progress(done, lr, smooth)
                if not math.isfinite(smooth):
                    result.stopped = f"the loss became {value} at lr {lr:.3g}"
                    break
                best = min(best, smooth)
                if done > 5 and smooth > DIVERGE * best:
                    result.stopped = f"the smoothed loss passed {DIVERGE:g}× its minimum at lr {lr:.3g}"
                    break
                if done >= steps:
                    result.stopped = f"reached the end of the sweep (lr {lr:.3g})"
                    break
    finally:
        torch.set_rng_state(rng)
    suggest(result)
    return result


def suggest(result: LRFind) -> None:
    """Fill in the steepest and valley suggestions (and how each was picked) from the smoothed curve."""
    ys = [y if math.isfinite(y) else math.inf for y in result.smoothed]
    finite = [i for i, y in enumerate(ys) if y < math.inf]
    if len(finite) < 5:
        result.how["note"] = "too few finite points to read the curve: try a lower --end or more --steps"
        return
    low = min(finite, key=lambda i: ys[i])
    logs = [math.log10(lr) for lr in result.lrs]
    slopes = [(ys[i + 1] - ys[i - 1]) / (logs[i + 1] - logs[i - 1]) for i in range(1, low)]
    if slopes:
        i = 1 + min(range(len(slopes)), key=lambda k: slopes[k])
        result.steepest = result.lrs[i]
        result.how["steepest"] = (f"where the smoothed loss falls fastest against log(lr) before its minimum "
                                  f"(slope {slopes[i - 1]:.3g} per decade at lr {result.lrs[i]:.3g}; minimum "
                                  f"{ys[low]:.4g} at lr {result.lrs[low]:.3g})")
    n = len(finite)
    run = [1] * n  # the longest falling stretch ending at each point (fastai's valley)
    first, last = 0, 0
    for i in range(1, n):
        for j in range(i):
            if ys[finite[i]] < ys[finite[j]] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[i] > run[last]:
            last = i
            first = last - run[last]
    third = (last - first) / 3
    idx = finite[max(0, first + int(third) + int(third / 2))]
    result.valley = result.lrs[idx]
    result.how["valley"] = (f"the longest stretch over which the smoothed loss keeps falling runs from lr "
                            f"{result.lrs[finite[max(first, 0)]]:.3g} to "
                            f"{result.lrs[finite[last]]:.3g}; halfway along it (fastai's rule), lr {result.valley:.3g}")
