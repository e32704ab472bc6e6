"""Findings from the steps: a learning rate too high (divergence, non-finite steps, loss spikes,
an oscillating loss), exploding and vanishing gradients, clipping that binds on every step,
GradScaler overflow, weights that grow without bound, and a model that collapsed to chance or to
one class. Each is a function of a :class:`~.trace.Trace`."""

from __future__ import annotations

import math
import re
import statistics
from bisect import insort

from . import thresholds as T
from .findings import Finding, confidence
from .trace import Trace

LR_HIGH_WHY = ("steps that large overshoot the minimum: the loss jumps instead of descending, and a run "
               "that diverges loses everything it learnt")


def _jumps(points: list[tuple[int, float]], factor: float, first: bool) -> list[tuple[int, float, float]]:
    """(step, value, the median before it) of every point above ``factor`` times the median of the
    SPIKE_WINDOW points before it; ``first``: the first SPIKE_WINDOW points too, against their own
    median (a gradient norm; a loss falls too fast at the start to be judged so). A run shorter than
    the window has only its first points, judged so against all of them (with EARLY_STEPS at least)."""
    window = min(T.SPIKE_WINDOW, len(points)) if first else T.SPIKE_WINDOW
    if len(points) < max(window, T.EARLY_STEPS):
        return []
    ordered, found = sorted(v for _, v in points[:window]), []
    for i, (step, value) in enumerate(points):
        median = ordered[len(ordered) // 2]
        if (first or i >= window) and median > 0 and value > factor * median:
            found.append((step, value, median))
        if i >= window:  # slide the window: the point leaving it out, this one in
            ordered.remove(points[i - window][1])
            insort(ordered, value)
    return found


def _spikes(trace: Trace) -> list[tuple[int, float, float]]:
    """Loss spikes: a step's loss SPIKE_FACTOR times the median of the steps before it, by at least
    SPIKE_RISE of the loss the run started from (a loss near zero triples by nothing); in the first
    SPIKE_WINDOW steps, SPIKE_FACTOR times the loss it started from (an LR that throws the first
    steps far off)."""
    start = trace.initial_loss() or 0.0
    steps = trace.finite_steps()
    found = _jumps([(s, loss) for s, loss, _ in steps], T.SPIKE_FACTOR, first=False)
    early = [(s, loss, start) for s, loss, _ in steps[: T.SPIKE_WINDOW] if start and loss > T.SPIKE_FACTOR * start]
    late = [(s, v, m) for s, v, m in found if v - m >= T.SPIKE_RISE * start]
    return (early if len(early) >= T.EARLY_SPIKES_MIN else []) + (late if len(late) >= T.SPIKES_MIN else [])


def lr_too_high(trace: Trace) -> Finding | None:
    n = len(trace.epochs)
    if trace.status == "diverged":
        return Finding("lr_too_high", "learning rate too high (diverged)", "warning", "high",
                       f"the run diverged: {trace.ended.reason}", LR_HIGH_WHY,
                       epoch=n + 1, step=trace.steps[-1] if trace.steps else None)
    skipped = trace.skipped.get("nonfinite", [])
    if skipped:
        return Finding("lr_too_high", "learning rate too high (non-finite steps)", "warning", "high",
                       f"{len(skipped)} steps skipped for a non-finite loss or gradient, the first at step "
                       f"{skipped[0]}", LR_HIGH_WHY, step=skipped[0])
    start, train = trace.initial_loss(), trace.train_loss
    if start and train and math.isfinite(train[-1]) and train[-1] > T.SPIKE_FACTOR * start:
        return Finding("lr_too_high", "learning rate too high (the loss climbs)", "warning",
                       confidence(len(train), train[-1] > 10 * start, 2),
                       f"the training loss climbed from {start:.4g} at the start to {train[-1]:.4g} in epoch {n}, "
                       f"{train[-1] / start:.0f}x", LR_HIGH_WHY, epoch=next(
                           (e.epoch for e in trace.epochs if e.train_loss > T.SPIKE_FACTOR * start), n))
    spikes = _spikes(trace)
    if spikes and len(spikes) >= T.SPIKE_SHARE * len(trace.steps):
        step, loss, median = max(spikes, key=lambda s: s[1] / s[2])
        return Finding("lr_too_high", "learning rate too high (loss spikes)", "warning",
                       confidence(len(trace.steps), len(spikes) >= 3 * T.SPIKES_MIN, T.SPIKE_WINDOW * 2),
                       f"{len(spikes)} steps ({len(spikes) / len(trace.steps):.1%}) had a loss over "
                       f"{T.SPIKE_FACTOR:g}x the median of the {T.SPIKE_WINDOW} before; the worst, step {step}: "
                       f"{loss:.4g} against {median:.4g}", LR_HIGH_WHY, step=spikes[0][0])
    train = trace.train_loss
    ups = [i for i, (a, b) in enumerate(zip(train, train[1:])) if b > a]
    if n >= T.FEW_EPOCHS and all(map(math.isfinite, train)) and len(ups) >= T.OSCILLATION * (n - 1):
        return Finding("lr_too_high", "learning rate too high (oscillating loss)", "warning",
                       confidence(n, len(ups) >= 0.5 * (n - 1), T.FEW_EPOCHS),
                       f"the training loss went up on {len(ups)} of {n - 1} epoch changes (first at epoch "
                       f"{ups[0] + 2})", LR_HIGH_WHY, epoch=ups[0] + 2)
    return None


def exploding_gradients(trace: Trace) -> Finding | None:
    """Pre-clip gradient norms EXPLODE_FACTOR times the median of the steps before them and above the
    first steps' median (a run whose gradients shrink as it fits has small relative jumps late that
    move nothing), or EXPLODE_GROWTH times the first steps' median (norms that climb step by step)."""
    points = [(s, norm) for s, _, norm in trace.finite_steps()]
    early = sorted(v for _, v in points[: T.EARLY_STEPS])
    scale = early[len(early) // 2] if early else 0.0
    big = [b for b in _jumps(points, T.EXPLODE_FACTOR, first=True) if b[1] > scale]
    grown = [(s, v, scale) for s, v in points if scale > 0 and v > T.EXPLODE_GROWTH * scale]  # a steady climb
    big = sorted({b[0]: b for b in grown + big}.values())
    if len(big) < T.EXPLODE_MIN:
        return None
    clip = trace.started.clip_threshold if trace.started is not None else None
    step, worst, median = max(big, key=lambda item: item[1] / item[2])
    clipped = (f"clipping at {clip:g} held each step to it" if clip is not None
               else "clipping is off: each such step moved the weights in full")
    return Finding("exploding_gradients", "exploding gradients", "note" if clip is not None else "warning",
                   confidence(len(points), len(big) >= 3 * T.EXPLODE_MIN, 2 * T.SPIKE_WINDOW),
                   f"{len(big)} steps had a pre-clip gradient norm over {T.EXPLODE_FACTOR:g}x the median of the "
                   f"steps before, or {T.EXPLODE_GROWTH:g}x that of the first {T.EARLY_STEPS}; the worst, step "
                   f"{step}: {worst:.3g} against {median:.3g}; {clipped}",
                   "one step with a gradient that large throws the weights far from where training brought them; "
                   "the lesson's rule for RNNs: always clip", step=big[0][0])


def clipping_every_step(trace: Trace) -> Finding | None:
    """SGD's steps cut by clipping on most steps. Adam divides each step by the gradient's own running
    size, so a cut that binds on every step changes little there: only SGD is judged."""
    if trace.config is None or trace.config.train.optimizer != "sgd":
        return None
    clipped = [(e.clipped_steps, e.steps) for e in trace.epochs if e.clipped_steps is not None and e.steps]
    total, cut = sum(s for _, s in clipped), sum(c for c, _ in clipped)
    if len(trace.steps) < T.EARLY_STEPS or total == 0 or cut <= T.CLIPPED_SHARE * total:
        return None
    share = cut / total
    clip = trace.started.clip_threshold if trace.started is not None else None
    norms = [norm for _, _, norm in trace.finite_steps()]
    median = f", below the median pre-clip norm {statistics.median(norms):.3g}" if norms else ""
    return Finding("clipping_every_step", "clipping binds on most steps", "note",
                   confidence(len(clipped), share > 0.9, T.MIN_EPOCHS),
                   f"clipping at {clip:g}{median} cut {share:.0%} of the steps" if clip is not None else
                   f"clipping cut {share:.0%} of the steps",
                   "a threshold below the gradients' usual size rescales every step: it acts as a lower "
                   "learning rate, not as a guard against rare spikes")


def _plain_depth(trace: Trace) -> int:
    """The weight layers (convolutions, linear layers) of a model with no normalisation layer and no
    shortcut, as its start event lists its modules; 0 for a model that has either."""
    lines = trace.started.model if trace.started is not None else []
    if any(word in line for line in lines for word in ("Norm", "shortcut", "downsample", "LSTM", "GRU", "RNN")):
        return 0
    return sum(1 for line in lines if re.search(r"\b(Conv[123]d|Linear)\(", line))


def vanishing_gradients(trace: Trace) -> Finding | None:
    """The median gradient norm falling a thousandfold while the loss stays high; or a deep plain
    net (DEEP_PLAIN weight layers, no normalisation, no shortcut) whose loss never left where it
    started: the global norm cannot show the early layers' gradients vanishing, its depth and its
    flat loss can."""
    depth, train, start = _plain_depth(trace), trace.train_loss, trace.initial_loss()
    if (depth >= T.DEEP_PLAIN and len(train) >= 2 and start and all(map(math.isfinite, train))
            and min(train) >= (1 - T.FLAT) * start):
        return Finding("vanishing_gradients", "vanishing gradients (a deep plain net)", "warning",
                       confidence(len(train), len(train) >= T.FEW_EPOCHS, T.MIN_EPOCHS),
                       f"{depth} weight layers with no normalisation and no shortcut, and the training loss never "
                       f"went below {min(train):.4g} of the {start:.4g} it started from in {len(train)} epochs",
                       "through that many plain layers the gradient reaching the first ones is too small to move "
                       "them: BatchNorm, or the shortcuts of a ResNet, keep it alive", epoch=1)
    if len(trace.epochs) < 2:
        return None
    first, last = trace.epoch_steps(1), trace.epoch_steps(trace.epochs[-1].epoch)
    train = trace.train_loss
    if not first or not last or not math.isfinite(train[-1]):
        return None
    a, b = statistics.median(first), statistics.median(last)
    if a <= 0 or b >= T.VANISH_RATIO * a or start is None or train[-1] < T.HIGH * start:
        return None
    return Finding("vanishing_gradients", "vanishing gradients", "warning", confidence(len(train), b < 1e-6, 2),
                   f"the median gradient norm fell from {a:.3g} in epoch 1 to {b:.3g} in epoch "
                   f"{trace.epochs[-1].epoch} while the training loss is still {train[-1]:.4g}",
                   "with gradients that small the early layers stop learning; deep nets without shortcuts or "
                   "BatchNorm are where it happens", epoch=trace.epochs[-1].epoch)


def collapse(trace: Trace) -> Finding | None:
    """The run's own 'did not learn' warning (chance accuracy, a loss at the labels' entropy, a
    language model no better than the unigram), or a classifier that predicts one class."""
    said = [w.split("; try ")[0] for w in trace.warnings if w.startswith("the model did not learn")]  # its hint:
    # the prescription says what to try, from the run's own curves
    if said:
        sure = confidence(len(trace.epochs), True, T.MIN_EPOCHS)
        return Finding("collapse", "collapse to chance", "warning", sure, said[0],
                       "a model at chance has learnt nothing: every number it reports is noise",
                       epoch=len(trace.epochs) or None)
    confusion = trace.summary.get("confusion") or {}
    counts = confusion.get("counts") or []
    if len(counts) < 3:
        return None
    predicted = [sum(row[j] for row in counts) for j in range(len(counts))]
    total = sum(predicted)
    top = max(range(len(predicted)), key=predicted.__getitem__)
    if not total or predicted[top] < T.ONE_CLASS * total:
        return None
    name = confusion.get("classes", [str(top)])[top] if top < len(confusion.get("classes", [])) else str(top)
    return Finding("collapse", "one class predicted", "warning", "high",
                   f"{predicted[top] / total:.0%} of the test samples were predicted as class {name!r}",
                   "a model that names one class for everything has learnt the labels' frequencies, not the data")


def scaler_overflow(trace: Trace) -> Finding | None:
    skipped = [s for s in trace.skipped.get("grad_scaler", []) if s > T.SCALER_WARMUP]
    counted = len(trace.steps) - T.SCALER_WARMUP
    if counted <= 0 or len(skipped) < T.SCALER_SHARE * counted or len(skipped) < 3:
        return None
    return Finding("scaler_overflow", "mixed-precision overflow", "warning",
                   confidence(counted, len(skipped) >= 5 * T.SCALER_SHARE * counted, T.SCALER_WARMUP),
                   f"the fp16 GradScaler skipped {len(skipped)} steps after its first {T.SCALER_WARMUP} "
                   f"({len(skipped) / counted:.1%}), the first at step {skipped[0]}",
                   "every skipped step is a step not taken: fp16's range is too small for these gradients",
                   step=skipped[0])


def weights_growing(trace: Trace) -> Finding | None:
    norms = [e.weight_norm for e in trace.epochs if e.weight_norm]
    if len(norms) < T.MIN_EPOCHS or "weight_decay" in (trace.started.tricks if trace.started else []):
        return None
    ups = sum(1 for a, b in zip(norms, norms[1:]) if b > a)
    if norms[-1] < T.GROWTH * norms[0] or ups < T.GROWING_SHARE * (len(norms) - 1):
        return None
    return Finding("weights_growing", "weights growing without bound", "note",
                   confidence(len(norms), norms[-1] >= 2 * T.GROWTH * norms[0], T.FEW_EPOCHS),
                   f"the weights' L2 norm grew from {norms[0]:.4g} to {norms[-1]:.4g} ({norms[-1] / norms[0]:.1f}x), "
                   f"up on {ups} of {len(norms) - 1} epochs, with no weight decay",
                   "large weights make a sharp, over-confident model; weight decay keeps them small")


CHECKS = (lr_too_high, collapse, exploding_gradients, vanishing_gradients, scaler_overflow, clipping_every_step,
          weights_growing)
