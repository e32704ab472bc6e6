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


def dead_relu(trace: Trace) -> Finding | None:
    """A ReLU layer with half its units or more silent on the probe batch, reading after reading."""
    found = _worst(trace, lambda a: a.dead, T.DEAD)
    if found is None:
        return None
    layer, above = found
    first, last = above[0], above[-1]
    share = last.dead[layer]
    return Finding("dead_relu", "dead ReLUs", "warning",
                   confidence(len(above), share >= 0.8 or len(above) >= 2 * T.PROBES_IN_A_ROW, T.PROBES_IN_A_ROW),
                   f"{share:.0%} of the units of {layer} gave zero for every one of the {last.samples} samples of "
                   f"the probe batch at step {last.step}, {first.dead[layer]:.0%} already at step {first.step} "
                   f"({len(above)} readings in a row){_others(last.dead, layer, T.DEAD)}",
                   "a dead ReLU passes no gradient, so it never learns again: the layer has lost that share of its "
                   "width, most often to steps too large for its inputs", step=first.step)


def saturated(trace: Trace) -> Finding | None:
    """A tanh, sigmoid or plain RNN layer with half its outputs or more at their limits, reading after reading."""
    found = _worst(trace, lambda a: a.saturated, T.SATURATED_SHARE)
    if found is None:
        return None
    layer, above = found
    first, last = above[0], above[-1]
    share = last.saturated[layer]
    return Finding("saturated", "saturated activations", "warning",
                   confidence(len(above), share >= 0.8 or len(above) >= 2 * T.PROBES_IN_A_ROW, T.PROBES_IN_A_ROW),
                   f"{share:.0%} of the outputs of {layer} were within 1 % of their limits on the "
                   f"{last.samples} samples of the probe batch at step {last.step}, {first.saturated[layer]:.0%} "
                   f"already at step {first.step} ({len(above)} readings in a row)"
                   f"{_others(last.saturated, layer, T.SATURATED_SHARE)}",
                   "where tanh or sigmoid sits at its limit its slope is near zero: the gradient through the layer "
                   "vanishes, and what lies before it stops learning", step=first.step)


CHECKS = (dead_relu, saturated)
