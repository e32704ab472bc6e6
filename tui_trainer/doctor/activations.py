"""Findings from the model's activations, which its losses and gradient norms cannot show: ReLU
layers that have died and tanh or sigmoid layers that have saturated, read from the probe's
measurements (:mod:`tui_trainer.engine.activations`, every ``train.activations_every`` steps). A run
without readings (the probe off, or a model with no such layers) gives no finding."""

from __future__ import annotations

from typing import Callable

from ..engine.events import ActivationStats
from . import thresholds as T
from .findings import Finding, confidence
from .trace import Trace


def _worst(trace: Trace, shares: Callable[[ActivationStats], dict[str, float]], bar: float
           ) -> tuple[str, list[ActivationStats]] | None:
    """The layer above ``bar`` on the last PROBES_IN_A_ROW readings and more (its highest last share
    first), with the readings of its run above the bar, the first where it began."""
    readings = [a for a in trace.activations if shares(a)]
    if len(readings) < T.PROBES_IN_A_ROW:
        return None
    last = shares(readings[-1])
    for layer in sorted(last, key=last.__getitem__, reverse=True):
        above = []
        for reading in reversed(readings):
            if shares(reading).get(layer, 0.0) < bar:
                break
            above.append(reading)
        if len(above) >= T.PROBES_IN_A_ROW:
            return layer, above[::-1]
    return None


def _others(last: dict[str, float], layer: str, bar: float) -> str:
    more = sum(1 for name, share in last.items() if name != layer and share >= bar)
    return f"; {more} more layer{'s' if more > 1 else ''} as far gone" if more else ""


def _finding(trace: Trace, name: str, title: str, kind: str, bar: float, what: str, why: str) -> Finding | None:
    """A layer past ``bar`` on the probe's ``kind`` shares ("dead" or "saturated"), reading after reading."""
    found = _worst(trace, lambda a: getattr(a, kind), bar)
    if found is None:
        return None
    layer, above = found
    first, last = above[0], above[-1]
    share, began = getattr(last, kind)[layer], getattr(first, kind)[layer]
    return Finding(name, title, "warning",
                   confidence(len(above), share >= 0.8 or len(above) >= 2 * T.PROBES_IN_A_ROW, T.PROBES_IN_A_ROW),
                   f"{share:.0%} of the {what.format(layer=layer, samples=last.samples)} at step {last.step}, "
                   f"{began:.0%} already at step {first.step} ({len(above)} readings in a row)"
                   f"{_others(getattr(last, kind), layer, bar)}", why, step=first.step)


def dead_relu(trace: Trace) -> Finding | None:
    """A ReLU layer with DEAD of its units or more silent on the probe batch, reading after reading."""
    return _finding(trace, "dead_relu", "dead ReLUs", "dead", T.DEAD,
                    "units of {layer} gave zero for every one of the {samples} samples of the probe batch",
                    "a dead ReLU passes no gradient, so it never learns again: the layer has lost that share of its "
                    "width, most often to steps too large for its inputs")


def saturated(trace: Trace) -> Finding | None:
    """A tanh, sigmoid or plain RNN layer with SATURATED_SHARE of its outputs or more at their limits,
    reading after reading."""
    return _finding(trace, "saturated", "saturated activations", "saturated", T.SATURATED_SHARE,
                    "outputs of {layer} were within 1 % of their limits on the {samples} samples of the probe batch",
                    "where tanh or sigmoid sits at its limit its slope is near zero: the gradient through the layer "
                    "vanishes, and what lies before it stops learning")


CHECKS = (dead_relu, saturated)
