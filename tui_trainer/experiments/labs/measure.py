"""What a lab measures of each run, from its folder: the summary's scores, and what the events
tell (the largest gradient norm, the share of clipped steps, the gap between validation and
training loss, the epochs it took to reach a value).

Names: the keys of :data:`METRICS`, and ``epochs_to:<metric><op><value>`` (``epochs_to:val_accuracy>=0.9``:
the first epoch whose validation metric reached 0.9; infinite when none did), and the probes of
:mod:`.probes`, which run the model again on the test split.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any, Callable

from ...runs.curves import Curves, read_curves
from ...runs.folder import read_summary
from .probes import PROBES, probe


def _last(curves: Curves, key: str) -> float | None:
    return getattr(curves.epochs[-1], key) if curves.epochs else None


def _clipped_share(curves: Curves) -> float | None:
    counted = [(e.clipped_steps, e.steps) for e in curves.epochs if e.clipped_steps is not None and e.steps]
    return sum(c for c, _ in counted) / sum(s for _, s in counted) if counted else None


def _gap(curves: Curves) -> float | None:
    """Validation minus training loss, at the last epoch: how far the model fits its training set better."""
    return curves.epochs[-1].val_loss - curves.epochs[-1].train_loss if curves.epochs else None


def _max_norm(curves: Curves) -> float | None:
    finite = [g for g in curves.grad_norm if math.isfinite(g)]
    return max(finite) if finite else None


def _norms(curves: Curves) -> list[float]:
    return [g for g in curves.grad_norm if math.isfinite(g) and g > 0]


def _spike(curves: Curves) -> float | None:
    """The largest gradient norm over the median one: how far the worst step stands out."""
    norms = sorted(_norms(curves))
    return norms[-1] / norms[len(norms) // 2] if norms else None


def _spread(curves: Curves) -> float | None:
    """The standard deviation of log10 of the gradient norm over the steps: its spread in decades."""
    logs = [math.log10(g) for g in _norms(curves)]
    return statistics.pstdev(logs) if len(logs) >= 2 else None


def _epoch_seconds(curves: Curves) -> float | None:
    """The median wall time of an epoch after the first (training, validation and checkpoints; the
    first also pays for warming up), from the run's wall clock at each epoch's end."""
    walls = [e.wall_seconds for e in curves.epochs if e.wall_seconds is not None]
    steps = [b - a for a, b in zip(walls, walls[1:]) if b >= a]
    return statistics.median(steps) if steps else None


def _tail(curves: Curves) -> list[float]:
    """The training loss of each step in the last tenth of the run (at least one epoch's steps)."""
    losses = [v for v in curves.loss if math.isfinite(v)]
    return losses[-max(len(losses) // 10, curves.steps_per_epoch, 1):]


def _tail_noise(curves: Curves) -> float | None:
    tail = _tail(curves)
    return statistics.pstdev(tail) if len(tail) >= 2 else None


#: name -> (what it is, better when "min" or "max", how to get it from (summary, curves)).
METRICS: dict[str, tuple[str, str, Callable[[dict[str, Any], Curves], Any]]] = {
    "best_val_loss": ("the lowest validation loss", "min", lambda s, c: s.get("best_val_loss")),
    "best_val_accuracy": ("validation accuracy at the best epoch", "max", lambda s, c: s.get("best_val_accuracy")),
    "best_val_bits_per_char": ("a language model's validation bits per character at the best epoch", "min",
                               lambda s, c: (s.get("best_val_metrics") or {}).get("val_bits_per_char")),
    "test_accuracy": ("test accuracy of the kept weights", "max", lambda s, c: s.get("test_accuracy")),
    "test_loss": ("test loss of the kept weights", "min", lambda s, c: s.get("test_loss")),
    "test_bits_per_char": ("a language model's test bits per character, kept weights", "min",
                           lambda s, c: (s.get("test_metrics") or {}).get("test_bits_per_char")),
    "test_mae": ("a forecast's test mean absolute error, in the data's units", "min",
                 lambda s, c: (s.get("test_metrics") or {}).get("test_mae")),
    "final_val_loss": ("validation loss after the last epoch", "min", lambda s, c: _last(c, "val_loss")),
    "final_val_accuracy": ("validation accuracy after the last epoch", "max", lambda s, c: _last(c, "val_accuracy")),
    "final_train_loss": ("training loss of the last epoch", "min", lambda s, c: _last(c, "train_loss")),
    "gap": ("validation minus training loss at the last epoch", "min", lambda s, c: _gap(c)),
    "best_epoch": ("the epoch of the lowest validation loss", "min", lambda s, c: s.get("best_epoch")),
    "epochs_run": ("epochs trained", "min", lambda s, c: s.get("epochs_run")),
    "diverged": ("1 when the run diverged", "min", lambda s, c: 1.0 if s.get("status") == "diverged" else 0.0),
    "max_grad_norm": ("the largest gradient norm before clipping", "min", lambda s, c: _max_norm(c)),
    "clipped_share": ("the share of steps that norm clipping cut", "min", lambda s, c: _clipped_share(c)),
    "samples_per_second": ("training speed", "max", lambda s, c: s.get("train_samples_per_second")),
    "wall_seconds": ("wall time of the run", "min", lambda s, c: s.get("wall_seconds")),
    "epoch_seconds": ("the median wall time of an epoch after the first", "min", lambda s, c: _epoch_seconds(c)),
    "grad_norm_spike": ("the largest gradient norm over the median one", "min", lambda s, c: _spike(c)),
    "grad_norm_spread": ("the spread of the gradient norm over the steps, in decades (sd of log10)", "min",
                         lambda s, c: _spread(c)),
    "tail_train_loss": ("the mean training loss of the steps in the last tenth of the run", "min",
                        lambda s, c: statistics.fmean(t) if (t := _tail(c)) else None),
    "tail_loss_noise": ("the spread (sd) of the step losses in the last tenth of the run", "min",
                        lambda s, c: _tail_noise(c)),
    "final_weight_norm": ("the weights' L2 norm after the last epoch", "min", lambda s, c: _last(c, "weight_norm")),
}
EPOCHS_TO = re.compile(r"epochs_to:(\w+)(>=|<=)([-+0-9.eE]+)$")


def metric_name_problem(name: str) -> str | None:
    """None for a known metric name, else what is wrong with it."""
    if name in METRICS or name in PROBES:
        return None
    m = EPOCHS_TO.match(name)
    if m:
        try:
            float(m.group(3))
            return None
        except ValueError:
            pass
    return (f"unknown metric {name!r}: choose {', '.join([*METRICS, *PROBES])}, or "
            "epochs_to:<validation metric>>=<value> (e.g. epochs_to:val_accuracy>=0.9)")


def goal_of(name: str) -> str:
    if name in PROBES:
        return PROBES[name][1]
    return "min" if EPOCHS_TO.match(name) else METRICS.get(name, ("", "min"))[1]


#: Scale quantities whose seeds can differ by orders of magnitude (an exploding run): compared on a log scale.
LOG_SCALE = {"best_val_loss", "test_loss", "final_val_loss", "final_train_loss", "max_grad_norm", "grad_norm_spike",
             "tail_train_loss", "tail_loss_noise"}


def describe(name: str) -> str:
    m = EPOCHS_TO.match(name)
    if m:
        return f"epochs until {m.group(1)} {m.group(2)} {m.group(3)}"
    return PROBES[name][0] if name in PROBES else METRICS[name][0]


def _epochs_to(curves: Curves, key: str, op: str, value: float) -> float:
    for e in curves.epochs:
        fallback = e.val_accuracy if key == "val_accuracy" else None
        got = e.val_loss if key == "val_loss" else (e.metrics or {}).get(key, fallback)
        if got is not None and math.isfinite(got) and (got >= value if op == ">=" else got <= value):
            return float(e.epoch)
    return math.inf


def measure(run_dir: Path | str, names: list[str]) -> dict[str, float | None]:
    """The named metrics of the run in ``run_dir`` (None where the run cannot tell); probes
    (:mod:`.probes`) load its model once for all of them."""
    summary = read_summary(run_dir)
    curves = read_curves(Path(run_dir))
    out: dict[str, float | None] = probe(run_dir, [n for n in names if n in PROBES])
    for name in (n for n in names if n not in PROBES):
        m = EPOCHS_TO.match(name)
        value = _epochs_to(curves, m.group(1), m.group(2),
                           float(m.group(3))) if m else METRICS[name][2](summary, curves)
        out[name] = None if value is None else float(value)
    return out
