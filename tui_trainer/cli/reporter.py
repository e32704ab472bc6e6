"""Headless reporters: a live progress bar for a terminal, or one JSON object per event and line."""

from __future__ import annotations

import json
import os
import sys

from ..display import (
    baseline_lines,
    best_metrics,
    epoch_line,
    epoch_metrics,
    fmt,
    headline,
    kept_weights,
    measured_time,
    metrics_text,
    peak_text,
    rate_text,
    status_colour,
    step_place,
    summary_rate,
)
from ..engine.events import (
    ActivationStats,
    EarlyStoppingState,
    EpochEnded,
    Event,
    Intervention,
    RunEnded,
    RunStarted,
    RunWarning,
    SampleText,
    StepsSkipped,
    StepStats,
    SystemStats,
    dispatch,
    event_to_dict,
)
from ..runs.pace import Pace


class NoReporter:
    """The other processes of a run over several: process 0 reports for them."""

    def __call__(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


class Unpiped:
    """A reporter that outlives its reader: once stdout's pipe is closed (``train ... | head -1``),
    the first BrokenPipeError points stdout at /dev/null and the reporter falls silent; the run
    trains on to its own end, its folder complete, as if nobody had been reading."""

    def __init__(self, inner):
        self.inner = inner
        self.reader_gone = False

    def __call__(self, event: Event) -> None:
        self._quietly(self.inner, event)

    def close(self) -> None:
        self._quietly(self.inner.close)

    def _quietly(self, call, *args) -> None:
        if self.reader_gone:
            return
        try:
            call(*args)
        except BrokenPipeError:
            self.reader_gone = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # what is still buffered, or printed later, goes nowhere
            os.close(devnull)


class JsonReporter:
    """Each event as one JSON line on stdout (the same objects as ``metrics.jsonl``)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(event_to_dict(event), separators=(",", ":")) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class ProgressReporter:
    """A rich progress bar over all steps, a line per epoch above it, and a summary at the end.
    Each event kind is shown by its ``show_<kind>`` method; ``checkpoint_saved`` has none."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=False)
        self.progress = None
        self.task = None
        self.fields = {"epoch": "-", "loss": "-", "val": "-", "acc": "-", "lr": "-", "norm": "-", "rate": "-",
                       "wait": ""}
        self.epochs = 0
        self.steps_per_epoch = 0
        self.tokens_per_sample = 0
        self.pace = Pace()  # the epoch's training rate, as the epoch lines give it

    def __call__(self, event: Event) -> None:
        if self.progress is not None or isinstance(event, RunStarted):
            dispatch(self, event)

    def show_run_started(self, event: RunStarted) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.epochs = event.epochs
        self.steps_per_epoch = event.steps_per_epoch
        self.tokens_per_sample = event.tokens_per_sample
        self.pace.show_run_started(event)
        self.console.print(
            f"[bold]{event.preset}[/]  {event.parameters:,} parameters  device {event.device}  "
            f"precision {event.precision}  threads {event.threads}"
            + (f" × {event.processes} processes" if event.processes > 1 else "")
            + f"  tricks: {', '.join(event.tricks) or 'none'}"
        )
        if event.dataset:
            self.console.print(f"data: {event.dataset} {'×'.join(map(str, event.input_shape))}  "
                               f"{event.train_size:,}/{event.val_size:,}/{event.test_size:,} "
                               f"(train/val/test)  {event.data_detail}",
                               highlight=False)
        for note in event.notes:
            self.console.print(f"[yellow]note:[/] {note}", highlight=False)
        if event.run_dir:
            self.console.print(f"run folder: {event.run_dir}")
        # The bar must fit one line: at 80 columns validation figures stay in the epoch lines.
        wide = self.console.width >= 112
        stats = (
            "loss {task.fields[loss]}  "
            + ("val {task.fields[val]}  {task.fields[acc]}  " if wide else "")
            + "lr {task.fields[lr]}  |g| {task.fields[norm]}  {task.fields[rate]}{task.fields[wait]}"
        )
        self.progress = Progress(
            TextColumn("[bold]{task.fields[epoch]}"),
            BarColumn(bar_width=12 if wide else 8),
            TextColumn(stats),
            TextColumn("eta"),
            TimeRemainingColumn(compact=True),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=event.epochs * event.steps_per_epoch,
                                           completed=event.start_step, **self.fields)
        self.fields["epoch"] = f"{event.start_epoch + 1}/{event.epochs}"
        if event.start_step:
            self.console.print(f"resumed after step {event.start_step} (epoch {event.start_epoch + 1})",
                               highlight=False)

    def show_step_stats(self, event: StepStats) -> None:
        f = self.fields
        f["epoch"] = f"{event.epoch + 1}/{self.epochs}"
        f["loss"] = fmt(event.losses[-1])
        f["norm"] = fmt(event.grad_norms[-1], ".3g")
        f["lr"] = fmt(event.lrs[-1], ".2e")
        self.pace.show_step_stats(event)
        f["rate"] = rate_text(self.pace.rate, self.tokens_per_sample)
        self.progress.update(self.task, advance=len(event.losses), **f)

    def show_epoch_ended(self, event: EpochEnded) -> None:
        self.fields["val"] = fmt(event.val_loss)
        self.fields["acc"] = metrics_text(epoch_metrics(event), ".3f")
        self.progress.update(self.task, **self.fields)
        self.progress.console.print(epoch_line(event, self.epochs), highlight=False)

    def show_early_stopping(self, event: EarlyStoppingState) -> None:
        if event.enabled:
            self.fields["wait"] = f"  pat {event.wait}/{event.patience}"
            self.progress.update(self.task, **self.fields)

    def show_sample(self, event: SampleText) -> None:
        from rich.text import Text

        when = f"epoch {event.epoch}" if event.trigger == "epoch" else f"step {event.step}"
        top_k = f", top-k {event.top_k}" if event.top_k else ""
        head = f"sample after {when} (temperature {event.temperature:g}{top_k}):"
        self.progress.console.print(Text(head, style="dim"))
        self.progress.console.print(Text(event.text.rstrip() + "\n", style="italic"))

    def show_warning(self, event: RunWarning) -> None:
        self.progress.console.print(f"[yellow]warning:[/] {event.message}")

    def show_intervention(self, event: Intervention) -> None:
        where = step_place(event.step, event.epoch, self.steps_per_epoch)
        self.progress.console.print(f"[magenta]{where}:[/] {event.describe()} ({event.source})", highlight=False)

    def show_system(self, event: SystemStats) -> None:
        pass  # the bar has no room for it: the end of the run gives the peak memory

    def show_activations(self, event: ActivationStats) -> None:
        pass  # for the doctor: its findings (runs diagnose, runs show) say what they mean

    def show_steps_skipped(self, event: StepsSkipped) -> None:
        self.progress.console.print(f"[yellow]{event.describe()}[/]", highlight=False)

    def show_run_ended(self, event: RunEnded) -> None:
        self.progress.stop()
        s = event.summary
        label, value = headline(s)
        lines = [
            f"[bold {status_colour(event.status)}]{event.status}[/]: {event.reason}",
            f"best epoch       {s.get('best_epoch') or '-'} of {s.get('epochs_run')}",
            f"best val loss    {fmt(s.get('best_val_loss'))}   (val {metrics_text(best_metrics(s))})",
            f"{label:<16} {fmt(value)}   (test loss {fmt(s.get('test_loss'))}, {kept_weights(s)})",
            f"time             {measured_time(s.get('wall_seconds'))}   {summary_rate(s)}"
            + (f" on {s['device']} ({s.get('precision')})" if s.get("device") else ""),
        ]
        lines += [f"baselines        {line}" for line in baseline_lines(s)]
        if s.get("peak_memory"):
            lines.append(f"peak memory      {peak_text(s['peak_memory'])}")
        if s.get("run_dir"):
            lines.append(f"run folder       {s['run_dir']}")
        for line in lines:
            self.console.print(line, highlight=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
