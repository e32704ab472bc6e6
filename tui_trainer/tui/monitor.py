"""The live view of a run: sparklines, current values, progress, and a log.

It is fed engine events in batches by the app's 10 Hz timer (:meth:`Monitor.feed`), never
one message per step. Histories are bounded, and each redraw assigns a new list to
``Sparkline.data`` (mutating the list in place would show stale data).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, RichLog, Sparkline, Static

from ..engine.events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    RunEnded,
    RunStarted,
    RunWarning,
    StepStats,
)

HISTORY = 300  # points kept per curve: enough to see the shape, cheap to draw
#: Sparklines are the costliest widgets to draw (milliseconds each, holding the GIL the
#: training thread needs): they are redrawn at most this often; the numbers at every redraw.
CURVE_SECONDS = 0.3

CURVES = ("loss", "val_loss", "lr", "grad_norm", "patience")


def _fmt(value: float | None, spec: str = ".4f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Monitor(Vertical):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.history: dict[str, deque] = {name: deque(maxlen=HISTORY) for name in CURVES}
        self.dirty: set[str] = set()  # curves with new points since the last redraw
        self.redraws = 0
        self._curves_drawn = 0.0
        self._reset_state()

    def _reset_state(self) -> None:
        for h in self.history.values():
            h.clear()
        self.dirty = set(CURVES)
        self.started: RunStarted | None = None
        self.last_step: StepStats | None = None
        self.last_epoch: EpochEnded | None = None
        self.last_es: EarlyStoppingState | None = None
        self.ended: RunEnded | None = None
        self.steps_done = 0
        self.run_clock = time.monotonic()
        self.paused = False

    def compose(self) -> ComposeResult:
        yield Static("no run yet: press s to start", id="run-status")
        yield ProgressBar(total=1, show_eta=False, id="run-progress")  # total=None would animate while idle
        for name, title in (("loss", "loss"), ("val_loss", "val loss"), ("lr", "lr"), ("grad_norm", "|g|"), ("patience", "patience")):
            with Horizontal(classes="curve", id=f"curve-{name}"):
                yield Label(title, id=f"value-{name}", classes="curve-label")
                yield Sparkline([], id=f"spark-{name}", summary_function=max)
        yield RichLog(id="run-log", max_lines=1000, wrap=True, markup=True, min_width=20)

    # -- feeding -------------------------------------------------------------------------

    def feed(self, events: Iterable[Any]) -> None:
        """Apply a batch of events, then redraw once."""
        log = self.query_one("#run-log", RichLog)
        changed = False
        lines_before = len(log.lines)
        for event in events:
            changed = True
            if isinstance(event, RunStarted):
                self._reset_state()
                self.started = event
                self.query_one("#run-progress", ProgressBar).update(total=event.epochs * event.steps_per_epoch, progress=0)
                log.write(f"[b]started[/] {event.preset}: {event.parameters:,} parameters on {event.device} ({event.precision}), "
                          f"tricks: {', '.join(event.tricks) or 'none'}")
                if event.run_dir:
                    log.write(f"run folder {event.run_dir}")
            elif isinstance(event, StepStats):
                self.last_step = event
                self.history["loss"].extend(event.losses)
                self.history["lr"].extend(event.lrs)
                self.history["grad_norm"].extend(event.grad_norms)
                self.dirty.update(("loss", "lr", "grad_norm"))
                self.steps_done += len(event.losses)
            elif isinstance(event, EpochEnded):
                self.last_epoch = event
                self.history["val_loss"].append(event.val_loss)
                self.dirty.add("val_loss")
                total = self.started.epochs if self.started else "?"
                log.write(f"epoch {event.epoch}/{total}  train {event.train_loss:.4f}  val {event.val_loss:.4f}  "
                          f"acc {event.val_accuracy:.4f}  lr {event.lr:.2e}  {event.samples_per_second:,.0f}/s")
            elif isinstance(event, EarlyStoppingState):
                self.last_es = event
                self.history["patience"].append(float(event.wait))
                self.dirty.add("patience")
            elif isinstance(event, RunWarning):
                log.write(f"[yellow]warning:[/] {event.message}")
            elif isinstance(event, CheckpointSaved):
                pass
            elif isinstance(event, RunEnded):
                self.ended = event
                s = event.summary
                color = {"completed": "green", "early_stopped": "green", "stopped": "yellow"}.get(event.status, "red")
                log.write(f"[b {color}]{event.status}[/]: {event.reason}")
                if s.get("test_accuracy") is not None:
                    log.write(f"test accuracy {s['test_accuracy']:.4f} ({s.get('weights')} weights, best epoch "
                              f"{s.get('best_epoch')}), {s.get('train_samples_per_second', 0):,.0f} samples/s, "
                              f"{_duration(s.get('wall_seconds', 0))}")
        if changed:
            self.redraw()
        if len(log.lines) != lines_before:
            self._follow(log)

    def write_log(self, text: str) -> None:
        log = self.query_one("#run-log", RichLog)
        log.write(text)
        self._follow(log)

    def _follow(self, log: RichLog) -> None:
        """Keep the newest line in view. The log's scroll range changes only with a layout,
        and the monitor's numbers are drawn without layouts (a layout costs ~100 ms here):
        ask for one now (a few times an epoch) and scroll once it has run."""
        log.refresh(layout=True)
        self.set_timer(0.15, lambda: log.scroll_end(animate=False, immediate=True))

    # -- drawing -------------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> None:
        self.redraws += 1
        now = time.monotonic()
        if force or self.ended is not None or now - self._curves_drawn >= CURVE_SECONDS:
            self._curves_drawn = now
            for name in self.dirty:  # only the changed ones
                self.query_one(f"#spark-{name}", Sparkline).data = list(self.history[name])  # a new list redraws
            self.dirty = set()
        step, epoch, es, started = self.last_step, self.last_epoch, self.last_es, self.started
        self._label("loss", f"loss {_fmt(step.losses[-1] if step else None)}")
        self._label("val_loss", f"val {_fmt(epoch.val_loss if epoch else None)}")
        self._label("lr", f"lr {_fmt(step.lrs[-1] if step else None, '.2e')}")
        clip = f" ≤{started.clip_threshold:g}" if started and started.clip_threshold is not None else ""
        self._label("grad_norm", f"|g| {_fmt(step.grad_norms[-1] if step else None, '.3g')}{clip}")
        if es is not None:
            self._label("patience", f"wait {es.wait}/{es.patience} best {es.best_epoch}" if es.enabled else f"best ep {es.best_epoch}")
        else:
            self._label("patience", "patience")
        if started is not None:
            self.query_one("#run-progress", ProgressBar).update(progress=self.steps_done)
        self.query_one("#run-status", Static).update(self.status_line(), layout=False)

    def _label(self, name: str, text: str) -> None:
        self.query_one(f"#value-{name}", Label).update(text, layout=False)  # fixed size: no re-layout

    def status_line(self) -> str:
        started, step, epoch = self.started, self.last_step, self.last_epoch
        if started is None:
            return "no run yet: press s to start"
        total_steps = started.epochs * started.steps_per_epoch
        rate = step.samples_per_second if step else 0.0
        remaining = (total_steps - self.steps_done) * started.batch_size / rate if rate > 0 else None
        state = "paused" if self.paused else (self.ended.status if self.ended else "training")
        ep = (step.epoch + 1) if step else 1
        in_epoch = step.step_in_epoch if step else 0
        parts = [
            f"[b]{state}[/]",
            f"epoch {ep}/{started.epochs}",
            f"step {in_epoch}/{started.steps_per_epoch}",
            f"{rate:,.0f} samples/s",
            f"ETA {_duration(remaining)}" if remaining is not None and not self.ended else "",
            f"val acc {_fmt(epoch.val_accuracy, '.3f')}" if epoch else "",
            f"{started.device} {started.precision}",
        ]
        return "  ".join(p for p in parts if p)
