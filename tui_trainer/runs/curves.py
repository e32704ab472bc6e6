"""A run's curves as its events give them (``metrics.jsonl``): every step's loss, gradient norm and LR,
every epoch's line, the early-stopping state, the interventions and the skipped steps; and the two
CSV exports of ``runs export``. The app's plots, ``runs plot`` and the doctor read them so."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.events import EarlyStoppingState, EpochEnded, Intervention, RunStarted, StepsSkipped, StepStats, dispatch
from .catalog import RunInfo, RunNotFound
from .folder import METRICS, read_events


@dataclass
class Curves:
    steps: list[int] = field(default_factory=list)  # global step, 1-based
    step_epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epochs: list[EpochEnded] = field(default_factory=list)
    patience: dict[int, EarlyStoppingState] = field(default_factory=dict)
    steps_per_epoch: int = 0
    interventions: list[Intervention] = field(default_factory=list)  # for the markers
    skips: list[int] = field(default_factory=list)  # steps skipped (non-finite, or by the GradScaler)
    lr_marks: list[tuple[int, str]] = field(default_factory=list)  # the schedule's planned turns (RunStarted.lr_marks)

    # fed by dispatch(), event by event; checkpoints, warnings and the end add nothing to a curve

    def show_run_started(self, event: RunStarted) -> None:
        self.steps_per_epoch = event.steps_per_epoch
        self.lr_marks = [(int(step), str(text)) for step, text in event.lr_marks]

    def show_step_stats(self, event: StepStats) -> None:
        for i, (loss, norm, lr) in enumerate(zip(event.losses, event.grad_norms, event.lrs)):
            self.steps.append(event.first_step + i + 1)
            self.step_epoch.append(event.epoch + 1)
            self.loss.append(loss)
            self.grad_norm.append(norm)
            self.lr.append(lr)

    def show_epoch_ended(self, event: EpochEnded) -> None:
        self.epochs.append(event)

    def show_early_stopping(self, event: EarlyStoppingState) -> None:
        self.patience[event.epoch] = event

    def show_intervention(self, event: Intervention) -> None:
        self.interventions.append(event)

    def show_steps_skipped(self, event: StepsSkipped) -> None:
        self.skips.extend(event.steps)


def read_curves(run: RunInfo | Path) -> Curves:
    path = run.path if isinstance(run, RunInfo) else Path(run)
    if not (path / METRICS).exists():
        raise RunNotFound(f"{path}: no {METRICS} (the run never started)")
    curves = Curves()
    for event in read_events(path):
        dispatch(curves, event)
    return curves


def steps_csv(curves: Curves) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "epoch", "loss", "grad_norm", "lr"])
    for row in zip(curves.steps, curves.step_epoch, curves.loss, curves.grad_norm, curves.lr):
        writer.writerow([row[0], row[1], repr(row[2]), repr(row[3]), repr(row[4])])
    return out.getvalue()


def epochs_csv(curves: Curves) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_second",
                     "best_epoch", "patience_wait", "weight_norm"])
    for e in curves.epochs:
        es = curves.patience.get(e.epoch)
        writer.writerow([e.epoch, repr(e.train_loss), repr(e.val_loss), repr(e.val_accuracy), repr(e.lr),
                         f"{e.seconds:.3f}", f"{e.samples_per_second:.1f}", es.best_epoch if es else "",
                         es.wait if es else "", "" if e.weight_norm is None else repr(e.weight_norm)])
    return out.getvalue()
