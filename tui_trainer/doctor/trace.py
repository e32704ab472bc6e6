"""A run's events folded into what the doctor reads: the curves a plot draws, and the run's
start (its plan: epochs, clipping, patience, schedule, baselines), its warnings, the steps it
skipped by cause and its end. Live or finished, from memory or from ``metrics.jsonl``: the same."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..config import Config
from ..engine.events import ActivationStats, Event, RunEnded, RunStarted, RunWarning, StepsSkipped, dispatch
from ..runs.catalog import RunNotFound
from ..runs.curves import Curves
from ..runs.folder import METRICS, read_events


@dataclass
class Trace(Curves):
    started: RunStarted | None = None
    ended: RunEnded | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)  # cause -> global steps
    config: Config | None = None  # the run's settings, where its folder has them
    summary: dict[str, Any] = field(default_factory=dict)
    activations: list[ActivationStats] = field(default_factory=list)  # the probe's readings (train.activations_every)

    def show_run_started(self, event: RunStarted) -> None:
        if self.started is None:  # a resumed run starts again: its first start holds the plan
            self.started = event
        super().show_run_started(event)

    def show_steps_skipped(self, event: StepsSkipped) -> None:
        super().show_steps_skipped(event)
        self.skipped.setdefault(event.cause, []).extend(event.steps)

    def show_activations(self, event: ActivationStats) -> None:
        self.activations.append(event)

    def show_warning(self, event: RunWarning) -> None:
        self.warnings.append(event.message)

    def show_run_ended(self, event: RunEnded) -> None:
        self.ended = event
        self.summary = dict(event.summary)

    # -- what the detectors ask -----------------------------------------------------------------

    @property
    def status(self) -> str:
        return self.ended.status if self.ended is not None else "running"

    @property
    def train_loss(self) -> list[float]:
        return [e.train_loss for e in self.epochs]

    @property
    def val_loss(self) -> list[float]:
        return [e.val_loss for e in self.epochs]

    @property
    def planned_epochs(self) -> int:
        return self.started.epochs if self.started is not None else len(self.epochs)

    def finite_steps(self) -> list[tuple[int, float, float]]:
        """(step, loss, pre-clip gradient norm) of the steps whose loss and norm are finite."""
        return [(s, loss, norm) for s, loss, norm in zip(self.steps, self.loss, self.grad_norm)
                if math.isfinite(loss) and math.isfinite(norm)]

    def epoch_steps(self, epoch: int) -> list[float]:
        """The pre-clip gradient norms of the steps of ``epoch`` (1-based), finite ones."""
        return [n for e, n in zip(self.step_epoch, self.grad_norm) if e == epoch and math.isfinite(n)]

    def initial_loss(self) -> float | None:
        """The loss before training had moved it: the median of the first ten steps, else the first epoch's."""
        first = sorted(loss for _, loss, _ in self.finite_steps()[:10])
        if first:
            return first[len(first) // 2]
        return self.train_loss[0] if self.train_loss else None

    def weight_motion(self) -> float | None:
        """How far the weights' L2 norm moved from the first epoch to the last, per epoch, as a share
        of its first value; None where the run does not report it."""
        norms = [e.weight_norm for e in self.epochs if e.weight_norm]
        return abs(norms[-1] - norms[0]) / norms[0] / (len(norms) - 1) if len(norms) > 1 else None

    def noise(self, values: list[float]) -> float:
        """The median absolute change between consecutive values: what one epoch moves by chance."""
        changes = [abs(b - a) for a, b in zip(values, values[1:]) if math.isfinite(a) and math.isfinite(b)]
        return statistics.median(changes) if changes else 0.0


def trace_of(events: Iterable[Event], config: Config | None = None) -> Trace:
    trace = Trace(config=config)
    for event in events:
        dispatch(trace, event)
    return trace


def read_trace(path: Path | str, config: Config | None = None) -> Trace:
    """The trace of the run folder ``path``; a partial last line (a run being written) is left out."""
    path = Path(path)
    if not (path / METRICS).exists():
        raise RunNotFound(f"{path}: no {METRICS} (the run never started): nothing to diagnose")
    return trace_of(read_events(path), config)
