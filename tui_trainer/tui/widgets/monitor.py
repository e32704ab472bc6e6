"""The live view of a run: turns engine events into what :class:`LiveView` and :class:`TailLog` show.

It is fed events in batches by a 10 Hz timer (:meth:`Monitor.feed`), never one message per
step. Each event kind is shown by its ``show_<kind>`` method, and every event also goes to the
marker row (:class:`~..markers.Markers`).
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical

from ...display import (
    baseline_lines,
    confusion_lines,
    duration,
    epoch_line,
    epoch_metrics,
    fmt,
    headline,
    kept_weights,
    load_text,
    measured_time,
    metrics_text,
    rate_text,
    status_colour,
    step_place,
    summary_rate,
)
from ...engine.events import (
    ActivationStats,
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    Intervention,
    RunEnded,
    RunStarted,
    RunWarning,
    SampleText,
    StepsSkipped,
    StepStats,
    SystemStats,
    dispatch,
)
from ...runs.pace import Pace
from ..curves import Series
from ..markers import Mark, Markers
from .doctor_panel import DoctorPanel
from .live_view import Curve, LiveView
from .sample_panel import SamplePanel
from .tail_log import TailLog

#: Curves are redrawn at most this often; the numbers at every drain.
CURVE_SECONDS = 0.3
#: The doctor reads the run again at most this often (epochs of a small model end several times a
#: second), and always at its end.
DOCTOR_SECONDS = 1.0


class Monitor(Vertical):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.curves = {
            "loss": Curve("loss", "loss", "mean", log=True),
            "val_loss": Curve("val_loss", "val loss", "mean", log=True),
            "lr": Curve("lr", "lr", "mean"),
            "grad_norm": Curve("grad_norm", "|g|", "max", log=True),
            "patience": Curve("patience", "patience", "max"),
        }
        self.markers = Markers()
        self.pace = Pace()  # the epoch's training rate and the time left, for the status line
        self.dirty: set[str] = set()  # curves with new points since the last redraw
        self.redraws = 0
        self._curves_drawn = 0.0
        self._reset_state()

    def _reset_state(self) -> None:
        for curve in self.curves.values():
            curve.series.clear()
            curve.marker = None
        self.markers.clear()
        self.dirty = set(self.curves)
        self.started: RunStarted | None = None
        self.last_step: StepStats | None = None
        self.last_load: SystemStats | None = None
        self.last_epoch: EpochEnded | None = None
        self.last_es: EarlyStoppingState | None = None
        self.ended: RunEnded | None = None
        self.steps_done = 0
        self.paused = False
        from ...doctor import Trace

        self.trace = Trace()  # the doctor's reading of the run, diagnosed as epochs end
        self._unexamined, self._examined = False, 0.0  # an epoch ended since the doctor last read it; when it did

    def series(self, name: str) -> Series:
        return self.curves[name].series

    def compose(self) -> ComposeResult:
        yield LiveView(list(self.curves.values()), self.markers, id="live")
        yield SamplePanel(id="sample")
        yield DoctorPanel(id="doctor")
        yield TailLog(id="run-log")

    @property
    def live(self) -> LiveView:
        return self.query_one(LiveView)

    @property
    def sample_panel(self) -> SamplePanel:
        return self.query_one(SamplePanel)

    @property
    def doctor_panel(self) -> DoctorPanel:
        return self.query_one(DoctorPanel)

    @property
    def log_view(self) -> TailLog:
        return self.query_one(TailLog)

    def on_mount(self) -> None:
        self.redraw(force=True)

    # -- feeding -------------------------------------------------------------------------

    def feed(self, events: Iterable[Any]) -> None:
        """Apply a batch of events, then redraw once."""
        changed = False
        for event in events:
            changed = True
            dispatch(self, event)
            dispatch(self.pace, event)
            dispatch(self.trace, event)
            self._unexamined = self._unexamined or isinstance(event, EpochEnded)
            if not isinstance(event, RunStarted):  # show_run_started tells the markers whether the curves begin anew
                self.markers.note(event)
        now = time.monotonic()
        if self._unexamined and (self.ended is not None or now - self._examined >= DOCTOR_SECONDS):
            self._unexamined, self._examined = False, now
            self.examine()
        if changed:
            self.redraw()

    def examine(self) -> None:
        """The doctor's findings on the run so far: in the panel, and a mark where each began."""
        from ...doctor import diagnose

        diagnosis = diagnose(self.trace, settings=False)
        self.doctor_panel.show_diagnosis(diagnosis)
        per_epoch = self.started.steps_per_epoch if self.started is not None else 0
        marks = [Mark(f.step or f.epoch * per_epoch, "doctor", f.title) for f in diagnosis.findings
                 if f.step or (f.epoch and per_epoch)]
        self.markers.set_findings(marks)

    def show_run_started(self, event: RunStarted) -> None:
        log = self.log_view
        resumed = bool(event.start_step and self.started is not None)  # a resume, in the same metrics.jsonl
        if resumed:
            self.ended, self.paused = None, False
            log.write(f"[b]resumed[/] after step {event.start_step} (epoch {event.start_epoch + 1})")
        else:
            self._reset_state()
            self.sample_panel.clear()
            self.doctor_panel.clear()
            self.steps_done = event.start_step
        self.started = event
        self.markers.note(event, fresh=not resumed)
        # by value: no bound on |g|
        self.curves["grad_norm"].marker = event.clip_threshold if event.clip_mode == "norm" else None
        log.write(f"[b]started[/] {event.preset}: {event.parameters:,} parameters on "
                  f"{event.device} ({event.precision}), tricks: {', '.join(event.tricks) or 'none'}")
        if event.dataset:
            log.write(f"data {event.dataset} {'×'.join(map(str, event.input_shape))}, "
                      f"{event.train_size:,}/{event.val_size:,}/{event.test_size:,} "
                      f"(train/val/test), {event.data_detail}")
        for note in event.notes:
            log.write(f"[yellow]note:[/] {escape(note)}")
        if event.run_dir:
            log.write(f"run folder {event.run_dir}")

    def show_step_stats(self, event: StepStats) -> None:
        self.last_step = event
        self.series("loss").extend(event.losses)
        self.series("lr").extend(event.lrs)
        self.series("grad_norm").extend(event.grad_norms)
        self.dirty.update(("loss", "lr", "grad_norm"))
        self.steps_done += len(event.losses)

    def show_epoch_ended(self, event: EpochEnded) -> None:
        self.last_epoch = event
        self.series("val_loss").extend([event.val_loss])
        self.dirty.add("val_loss")
        self.log_view.write(epoch_line(event, self.started.epochs if self.started else "?"))

    def show_early_stopping(self, event: EarlyStoppingState) -> None:
        self.last_es = event
        self.series("patience").extend([float(event.wait)])
        self.dirty.add("patience")

    def show_sample(self, event: SampleText) -> None:
        self.sample_panel.show_sample(event)

    def show_warning(self, event: RunWarning) -> None:
        self.log_view.write(f"[yellow]warning:[/] {event.message}")

    def show_intervention(self, event: Intervention) -> None:
        where = step_place(event.step, event.epoch, self.started.steps_per_epoch if self.started else 0)
        self.log_view.write(f"[b magenta]{where}:[/] {event.describe()} ({event.source})")
        clip = event.changes.get("clip")
        if clip is not None:
            self.curves["grad_norm"].marker = None if clip == "off" else float(clip)

    def show_checkpoint_saved(self, event: CheckpointSaved) -> None:
        pass  # a mark on the marker row (last.pt), nothing more

    def show_system(self, event: SystemStats) -> None:
        self.last_load = event  # the status line shows it

    def show_activations(self, event: ActivationStats) -> None:
        pass  # for the doctor (self.trace), whose panel says what they mean

    def show_steps_skipped(self, event: StepsSkipped) -> None:
        self.log_view.write(f"[yellow]{event.describe()}[/]")

    def show_run_ended(self, event: RunEnded) -> None:
        self.ended = event
        s = event.summary
        if s.get("confusion"):  # first, so the verdict stays in the last lines of a short log
            for line in confusion_lines(s["confusion"]):
                self.log_view.write(escape(line))
        self.log_view.write(f"[b {status_colour(event.status)}]{event.status}[/]: {event.reason}")
        label, value = headline(s)
        if value is not None:
            self.log_view.write(f"{label} {value:.4f} ({kept_weights(s)}), {summary_rate(s)}, "
                                f"{measured_time(s.get('wall_seconds'))}")
        for line in baseline_lines(s):
            self.log_view.write(escape(line))
        if s.get("forecast"):
            self.sample_panel.show_forecast(s["forecast"])

    def show_loading(self, label: str, done: int, total: int | None) -> None:
        """A download or decoding before the run starts, on the progress bar."""
        amount = f"{done:,}/{total:,}" if total else ""
        if "download" in label and total:
            amount = f"{done / 2**20:,.1f}/{total / 2**20:,.1f} MB"
        self.live.show([f"[b]loading data[/]: {escape(label)} {amount}"], done / total if total else None,
                       f"{done / total:4.0%}" if total else "", None)

    def write_log(self, text: str) -> None:
        self.log_view.write(text)

    # -- drawing -------------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> None:
        self.redraws += 1
        now = time.monotonic()
        curves: set[str] | None = None
        if force or self.ended is not None or now - self._curves_drawn >= CURVE_SECONDS:
            self._curves_drawn = now
            curves, self.dirty = self.dirty, set()
        step, epoch, es = self.last_step, self.last_epoch, self.last_es
        labels = {
            "loss": f"loss {fmt(step.losses[-1] if step else None)}",
            "val_loss": f"val {fmt(epoch.val_loss if epoch else None)}",
            "lr": f"lr {fmt(step.lrs[-1] if step else None, '.2e')}",
            "grad_norm": f"|g| {fmt(step.grad_norms[-1] if step else None, '.3g')}",
            "patience": "patience",
        }
        if es is not None:
            labels["patience"] = (f"wait {es.wait}/{es.patience} best {es.best_epoch}" if es.enabled
                                  else f"best ep {es.best_epoch}")
        for name, text in labels.items():
            self.curves[name].label = text
        progress, progress_text = None, ""
        if self.started is not None:
            total = self.started.epochs * self.started.steps_per_epoch
            progress = self.steps_done / total if total else 0.0
            progress_text = f"{progress:4.0%}"
        self.live.show(self.status_parts(), progress, progress_text, curves)

    def status_parts(self) -> list[str]:
        started, step, epoch = self.started, self.last_step, self.last_epoch
        if started is None:
            return ["no run yet: press s to start"]
        rate, remaining = self.pace.rate, self.pace.remaining()
        state = "paused" if self.paused else (self.ended.status if self.ended else "training")
        ep = (step.epoch + 1) if step else started.start_epoch + 1
        in_epoch = step.step_in_epoch if step else 0
        parts = [
            f"[b]{state}[/]",
            f"epoch {ep}/{started.epochs}",
            f"step {in_epoch}/{started.steps_per_epoch}",
            rate_text(rate, started.tokens_per_sample),
            f"ETA {duration(remaining)}" if remaining is not None and not self.ended else "",
            f"val {metrics_text(epoch_metrics(epoch), '.3f')}" if epoch else "",
            f"{started.device} {started.precision}" + (f" × {started.processes} processes, "
                                                       f"global batch {started.batch_size}"
                                                       if started.processes > 1 else ""),
            load_text(self.last_load.cpu_percent, self.last_load.rss_mb, self.last_load.gpu_percent,
                      self.last_load.gpu_mb)
            if self.last_load is not None and not self.ended else "",
        ]
        return [p for p in parts if p]
