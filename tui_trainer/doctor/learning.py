"""Findings from the epoch curves: over-fitting (and early stopping absent from it), a plateau
far from what the data allow, a learning rate too low, a schedule that ended too early or never
turned, and early stopping too eager. Each is a function of a :class:`~.trace.Trace`."""

from __future__ import annotations

import math
import re

from . import thresholds as T
from .findings import Finding, confidence
from .trace import Trace


def _finite(values: list[float]) -> bool:
    return bool(values) and all(math.isfinite(v) for v in values)


def _rise(trace: Trace) -> tuple[int, float] | None:
    """(the best epoch's index, how far the last validation loss is above it) when the validation
    loss has risen for RISING_EPOCHS epochs and more, clear of its noise, while the training loss
    fell; else None."""
    val, train = trace.val_loss, trace.train_loss
    if len(val) < T.MIN_EPOCHS or not _finite(val) or not _finite(train):
        return None
    best = min(range(len(val)), key=val.__getitem__)
    rise = val[-1] - val[best]
    noise = trace.noise(val)
    if len(val) - 1 - best < T.RISING_EPOCHS or rise < T.RISE * val[best] or rise < T.RISE_OVER_NOISE * noise:
        return None
    return (best, rise) if train[-1] < train[best] else None


def accuracy_kept(trace: Trace) -> tuple[int, float, float] | None:
    """For a classifier whose validation loss rose (:func:`_rise`): (the loss's best epoch's index, the
    validation accuracy then, and now) when the accuracy has not fallen since by more than its own
    noise. The loss then rises from confident mistakes, not from samples it no longer gets right;
    None otherwise (or where the run has no accuracy)."""
    found = _rise(trace)
    accuracy = [e.val_accuracy for e in trace.epochs]
    if found is None or not all(isinstance(a, (int, float)) for a in accuracy) or not _finite(accuracy):
        return None
    best = found[0]
    if accuracy[best] - accuracy[-1] > trace.noise(accuracy):
        return None
    return best, accuracy[best], accuracy[-1]


def overfitting(trace: Trace) -> Finding | None:
    found = _rise(trace)
    if found is None:
        return None
    best, rise = found
    val, train, n = trace.val_loss, trace.train_loss, len(trace.val_loss)
    caught = trace.status == "early_stopped"
    kept = " Early stopping caught it: the kept weights are those of epoch {}.".format(best + 1) if caught else ""
    held = accuracy_kept(trace)
    if held is not None and not caught:
        kept = (f" The validation accuracy has not fallen with it ({held[1]:.3g} at epoch {best + 1}, {held[2]:.3g} "
                "now): the loss rises from confident mistakes.")
    return Finding(
        "overfitting", "over-fitting", "note" if caught else "warning",
        confidence(n, n - 1 - best >= 2 * T.RISING_EPOCHS and rise >= 2 * T.RISE * val[best], T.FEW_EPOCHS),
        f"validation loss rose from {val[best]:.4g} (epoch {best + 1}) to {val[-1]:.4g} (epoch {n}), "
        f"+{rise / val[best]:.0%}, while training loss fell from {train[best]:.4g} to {train[-1]:.4g}; "
        f"the gap is now {val[-1] - train[-1]:.4g}.{kept}",
        "the model learns its training samples rather than what they share: each further epoch makes it "
        + ("surer of its mistakes on data it has not seen, though it does not yet get more of them wrong"
           if held is not None and not caught else "worse on data it has not seen"),
        epoch=best + 1)


def early_stopping_absent(trace: Trace) -> Finding | None:
    """Early stopping off on a run that over-fits: the last weights are worse than the best epoch's."""
    if trace.started is None or trace.started.patience is not None:
        return None
    found = _rise(trace)
    if found is None:
        return None
    best, rise = found
    n = len(trace.val_loss)
    kept = trace.summary.get("weights")
    what = f"the run kept its {kept} weights" if kept else "the last weights are those the run ends with"
    return Finding(
        "early_stopping_absent", "early stopping off on a run that over-fits", "warning",
        confidence(n, n - 1 - best >= 2 * T.RISING_EPOCHS, T.FEW_EPOCHS),
        f"early stopping is off; the validation loss was best at epoch {best + 1} and is {rise:.4g} higher "
        f"{n - 1 - best} epochs later; {what}",
        "the lesson's rule for both CNNs and RNNs: monitor the validation loss and keep the best epoch's weights",
        epoch=best + 1)


def _tail(values: list[float]) -> list[float]:
    size = max(T.MIN_EPOCHS, math.ceil(len(values) * T.TAIL))
    return values[-size:]


def _baseline_gap(trace: Trace) -> str | None:
    """Where the run has baselines (text, series): that its best validation score never beat
    the best of them, in words; else None."""
    baselines = trace.started.baselines if trace.started is not None else {}
    for key in sorted({k for scores in baselines.values() for k in scores if k.startswith("val_")}):
        seen = [e.metrics[key] for e in trace.epochs if math.isfinite(e.metrics.get(key, math.nan))]
        floor = {name: scores[key] for name, scores in baselines.items() if key in scores}
        if seen and floor:
            name, value = min(floor.items(), key=lambda item: item[1])
            if min(seen) >= value:  # lower is better for every baseline score (bits/char, MAE)
                return (f"its best {key.replace('_', ' ')} {min(seen):.4g} never beat the {name} baseline's "
                        f"{value:.4g}")
    return None


def _classes(trace: Trace) -> int | None:
    """The classes a classifier tells apart: from its confusion matrix, else its last layer's outputs."""
    counts = (trace.summary.get("confusion") or {}).get("counts")
    if counts:
        return len(counts)
    last = trace.started.model[-1] if trace.started is not None and trace.started.model else ""
    found = re.search(r"out_features=(\d+)", last)
    return int(found.group(1)) if found else None


def _floor(trace: Trace) -> float | None:
    """The lowest training loss the run can reach: 0, or with label smoothing ε over K classes the
    entropy of the smoothed target; None when it cannot be told (smoothing, classes unknown)."""
    smoothing = trace.config.tricks.label_smoothing if trace.config is not None else None
    if smoothing is None:
        return None if "label_smoothing" in (trace.started.tricks if trace.started else []) else 0.0
    if not smoothing.enabled:
        return 0.0
    k, eps = _classes(trace), smoothing.epsilon
    if not k or k < 2:
        return None
    true, other = 1 - eps + eps / k, eps / k
    return -(true * math.log(true) + (k - 1) * other * math.log(other))


def small_model(trace: Trace) -> bool:
    """Fewer parameters than SMALL_MODEL per training target (a sample, or a sequence's every token):
    a model too small to hold even one number for each."""
    started = trace.started
    if started is None or not started.parameters or not started.train_size:
        return False
    return started.parameters < T.SMALL_MODEL * started.train_size * max(1, started.tokens_per_sample)


def _targets(trace: Trace) -> str:
    """"1,000 training samples", or a language model's "512,000 training tokens"."""
    started = trace.started
    tokens = started.tokens_per_sample if started is not None else 0
    return (f"{started.train_size * tokens:,} training tokens" if tokens
            else f"{started.train_size if started else 0:,} training samples")


def plateau(trace: Trace) -> Finding | None:
    """The training loss flat over the last part of the run, far above where it started from
    or not beating the data's own baselines: the model stopped learning, short of the data."""
    train = trace.train_loss
    if len(train) < T.MIN_EPOCHS + 1 or not _finite(train):
        return None
    behind = _baseline_gap(trace)
    tail, start, floor = _tail(train), trace.initial_loss(), _floor(trace)
    mean = sum(tail) / len(tail)
    flat = (max(tail) - min(tail)) < T.FLAT * mean
    high = floor is not None and start is not None and start > floor and mean - floor >= T.HIGH * (start - floor)
    if not (flat and (high or behind)):
        return None
    lowest = f", above the lowest it can reach ({floor:.3g}, with label smoothing)" if floor else ""
    versus = behind if behind else f"{mean / start:.0%} of the loss it started from ({start:.4g}){lowest}"
    if small_model(trace):
        versus += f"; the model has {trace.started.parameters:,} parameters for {_targets(trace)}"
    return Finding(
        "plateau", "a plateau short of the data (under-fitting)", "warning",
        confidence(len(train), behind is not None, T.FEW_EPOCHS),
        f"training loss flat at {mean:.4g} over the last {len(tail)} epochs (moved {max(tail) - min(tail):.3g}), "
        f"{versus}",
        "the model has stopped learning long before it fits the data: more epochs will not help; more "
        "capacity, a higher learning rate or less regularisation may",
        epoch=len(train) - len(tail) + 1)


def _slope(values: list[float]) -> float:
    """The mean change per epoch of ``values`` (negative: falling). On the loss itself, not its log:
    a loss closing in on its minimum slows down (an exponential's steps shrink), where a run whose
    steps are too small keeps falling at the pace it had."""
    return (values[-1] - values[0]) / max(1, len(values) - 1)


def lr_too_low(trace: Trace) -> Finding | None:
    """The loss still falls at the end at the pace it fell before, on a run that reached its last
    epoch with a constant LR, and its validation loss still made progress clear of its noise there:
    the steps are too small to get anywhere in the time given."""
    train = trace.train_loss
    if trace.status != "completed" or len(train) < 2 * T.MIN_EPOCHS or not _finite(train) or min(train) <= 0:
        return None
    if trace.started is not None and trace.started.schedule and _at_floor(trace):
        return None  # a schedule at its floor: schedule_too_short says it
    tail, n, val = _tail(train), len(train), trace.val_loss
    if _finite(val) and min(val[n - len(tail):]) >= min(val[: n - len(tail)]) - trace.noise(val):
        return None  # the validation loss made no progress in the tail clear of its noise: the training loss falls as
        # the model fits its samples, not as a run cut short learns
    before = train[max(0, n - 2 * len(tail)): n - len(tail) + 1]  # the epochs before the tail, and its first
    kept = _slope(tail) / _slope(before) if _slope(before) < 0 else 0.0
    fell = 1 - tail[-1] / tail[0]
    moved = trace.weight_motion()
    tiny = moved is not None and moved < T.TINY_UPDATE
    steady = kept >= T.SLOPE_KEPT and fell >= T.STILL_FALLING
    if not (steady or (tiny and train[-1] < train[0])):  # still falling at its pace, or weights that barely move
        return None
    weights = f"; the weights' norm moved {moved:.2%} an epoch" if moved is not None else ""
    return Finding(
        "lr_too_low", "learning rate too low", "warning" if tiny else "note",
        confidence(len(train), tiny or kept >= 0.9, T.FEW_EPOCHS),
        f"training loss still falling at the end: -{fell:.0%} over the last {len(tail)} epochs, at "
        f"{kept:.0%} of the pace of the epochs before{weights}",
        "the run ended while it was still learning at full pace: each step is too small for the time given",
        epoch=len(train) - len(tail) + 1)


def _at_floor(trace: Trace) -> bool:
    return bool(trace.lr) and max(trace.lr) > 0 and trace.lr[-1] <= T.FLOOR * max(trace.lr)


def schedule_too_short(trace: Trace) -> Finding | None:
    """A schedule that reached its floor while the validation loss still improved."""
    val, n = trace.val_loss, len(trace.val_loss)
    if trace.started is None or not trace.started.schedule or n < T.MIN_EPOCHS or not _finite(val):
        return None
    best = min(range(n), key=val.__getitem__)
    late = n - best <= max(1, math.ceil(T.LATE_BEST * n))
    if not (_at_floor(trace) and late and trace.status == "completed"):
        return None
    return Finding(
        "schedule_too_short", "the schedule ended too early", "note", confidence(n, best == n - 1, T.FEW_EPOCHS),
        f"the {trace.started.schedule} schedule brought the LR down to {trace.lr[-1]:.3g} "
        f"({trace.lr[-1] / max(trace.lr):.1%} of its peak) while the validation loss still improved (best at epoch "
        f"{best + 1} of {n})",
        "the run was still learning when its schedule ran out: a longer schedule gives it the epochs it needs",
        epoch=best + 1)


def _bounce(values: list[float]) -> float:
    """How far ``values`` jump back up, as a share of their level: the median rise between epochs
    over the median value, where a third of the changes or more are rises (a falling curve: 0)."""
    rises = [b - a for a, b in zip(values, values[1:]) if b > a]
    if not _finite(values) or len(values) < 3 or len(rises) < (len(values) - 1) / 3:
        return 0.0
    return sorted(rises)[len(rises) // 2] / sorted(values)[len(values) // 2]


def schedule_absent(trace: Trace) -> Finding | None:
    """A constant LR on a run whose validation loss stalled for the second half of it, or bounced
    in it by BOUNCE of its level from epoch to epoch: the weights wander instead of settling."""
    val, n = trace.val_loss, len(trace.val_loss)
    if trace.started is None or trace.started.schedule or n < T.FEW_EPOCHS or not _finite(val):
        return None
    if _rise(trace) is not None:
        return None  # over-fitting says more
    best = min(range(n), key=val.__getitem__)
    bounce = _bounce(val[n // 2:])
    stalled = best + 1 <= math.ceil(n * (1 - T.STALL))
    if not stalled and bounce < T.BOUNCE:
        return None
    said = (f"the validation loss was best at epoch {best + 1} and did not improve in the {n - best - 1} epochs "
            "after it" if stalled else
            f"in the second half the validation loss jumped back up by {bounce:.0%} of its level, epoch after epoch")
    return Finding(
        "schedule_absent", "a constant LR that stalls", "note", confidence(n, n >= T.LONG_RUN, T.FEW_EPOCHS),
        f"no LR schedule; {said}",
        "at a constant LR the steps stay as large as at the start and the weights wander around the minimum; "
        "a decaying LR lets them settle into it",
        epoch=best + 1 if stalled else n // 2 + 1)


def early_stopping_eager(trace: Trace) -> Finding | None:
    """Early stopping whose patience sits inside the validation noise: the wait came within one
    epoch of the patience and then improved, NEAR_MISSES times and more, before it stopped; or
    once, on a run stopped before EARLY_STOP_SHARE of its epochs with its training loss still
    falling."""
    if trace.status != "early_stopped":
        return None
    states = [trace.patience[e] for e in sorted(trace.patience)]
    if not states:
        return None
    near = sum(1 for a, b in zip(states, states[1:]) if a.patience > 1 and a.wait >= a.patience - 1 and b.improved)
    last, train = states[-1], trace.train_loss
    early = last.epoch < T.EARLY_STOP_SHARE * trace.planned_epochs
    recent = train[-(last.patience + 1):]
    learning = _finite(recent) and len(recent) > 1 and recent[-1] < (1 - T.STILL_FALLING) * recent[0]
    if near < T.NEAR_MISSES and not (early and learning and near >= 1):
        return None
    return Finding(
        "early_stopping_eager", "early stopping too eager", "note", confidence(len(states), near > T.NEAR_MISSES,
                                                                               T.FEW_EPOCHS),
        (f"with patience {last.patience}, the wait reached {last.patience - 1} and then improved {near} times "
         if near >= T.NEAR_MISSES else
         f"with patience {last.patience}, the wait reached {last.patience - 1} and then improved once; then, "
         f"while the training loss still fell {1 - recent[-1] / recent[0]:.0%} in its last {len(recent)} epochs, ")
        + f"it stopped at epoch {last.epoch} of {trace.planned_epochs}",
        "the patience is shorter than the validation loss's own noise: the run may have stopped on a bad "
        "epoch, not at the end of its progress",
        epoch=last.epoch)


CHECKS = (overfitting, early_stopping_absent, plateau, lr_too_low, schedule_too_short, schedule_absent,
          early_stopping_eager)
