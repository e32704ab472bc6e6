"""The marker row under the live curves: what happened in the run, and where.

Free of Textual, like :mod:`.curves`: :class:`Markers` is fed the run's events (by the
Monitor, in the app and in ``watch``) and lays them out on the columns of the step curves,
whose x axis runs from the first step shown to the last step done. Every mark comes from an
event: interventions, skipped steps (GradScaler or non-finite), new best epochs, ``last.pt``
saves (the points a resume goes back to), the schedule's planned turns (``RunStarted.lr_marks``:
the end of warm-up, one-cycle's peak, step drops), plateau's cuts (an epoch's LR below
the one before), and where each of the doctor's findings began (:meth:`Markers.set_findings`).
Behind them, each epoch's share of clipped steps is shaded: counted by the engine once the epoch
ends (``EpochEnded.clipped_steps``), estimated from the gradient norms and the threshold while it
runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.tricks import SCHEDULES
from ..engine.events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    Intervention,
    RunStarted,
    StepsSkipped,
    StepStats,
    dispatch,
)

#: kind -> (glyph, the legend's word, its short word). A later kind wins a column shared with an earlier one.
GLYPHS = {
    "saved": ("▪", "last.pt", "saved"),
    "lr": ("┊", "LR turn", "LR"),
    "best": ("★", "best", "best"),
    "skipped": ("✕", "skipped", "skip"),
    "intervention": ("◆", "nudge", "nudge"),
    "doctor": ("!", "doctor", "doctor"),  # where a finding of the doctor's began
}
PRIORITY = list(GLYPHS)
#: The share of an epoch's steps that clipping cut: under 25 %, under 50 %, under 75 %, more.
SHADES = "░▒▓█"


def shade(share: float | None) -> str:
    if not share or share <= 0:
        return " "
    return SHADES[min(len(SHADES) - 1, int(share * len(SHADES)))]


@dataclass
class Mark:
    step: int  # global steps done when it happened
    kind: str
    text: str


class Markers:
    """What the curves mark, fed event by event (:func:`~tui_trainer.engine.events.dispatch` calls
    its ``show_<kind>`` methods)."""

    def __init__(self) -> None:
        self.fresh = False  # the RunStarted being fed begins the curves anew
        self.clear()

    def clear(self) -> None:
        self.origin = 0  # global steps done before the first step the curves show
        self.done = 0
        self.marks: list[Mark] = []
        # each ended epoch: (first step - 1, last step, clipped share)
        self.spans: list[tuple[int, int, float | None]] = []
        self.threshold: float | None = None  # norm clipping's threshold, None when it does not clip by norm
        self.saves = False
        self.plateau = False
        self.last_lr: float | None = None
        self._new_epoch(0)

    def _new_epoch(self, first: int) -> None:
        self.epoch_first, self.epoch_clipped, self.epoch_steps = first, 0, 0

    # -- feeding -------------------------------------------------------------------------------

    def note(self, event: Any, fresh: bool = False) -> None:
        """Record what ``event`` marks. ``fresh``: a RunStarted that begins the curves anew
        (not a resume in the same ``metrics.jsonl``)."""
        self.fresh = fresh
        dispatch(self, event)

    def show_run_started(self, event: RunStarted) -> None:
        if self.fresh:
            self.clear()
            self.origin = event.start_step
        self.done = event.start_step
        self._new_epoch(event.start_step)
        self.threshold = event.clip_threshold if event.clip_mode == "norm" else None
        self.saves = event.run_dir is not None
        self.plateau = event.schedule in SCHEDULES and SCHEDULES[event.schedule].watches  # its cuts are unplanned
        planned = {m.step for m in self.marks if m.kind == "lr"}
        self.marks += [Mark(int(step), "lr", str(text)) for step, text in event.lr_marks if int(step) not in planned]

    def show_step_stats(self, event: StepStats) -> None:
        self.done = event.first_step + len(event.losses)
        self.epoch_steps += len(event.losses)
        if self.threshold is not None:
            self.epoch_clipped += sum(1 for n in event.grad_norms if n > self.threshold)

    def show_epoch_ended(self, event: EpochEnded) -> None:
        share = event.clipped_steps / event.steps if event.clipped_steps is not None and event.steps else None
        self.spans.append((self.done - (event.steps or self.epoch_steps), self.done, share))
        if self.plateau and self.last_lr and event.lr < self.last_lr * 0.999:
            self.marks.append(Mark(self.done, "lr", f"LR ×{event.lr / self.last_lr:.2g}"))
        self.last_lr = event.lr
        self._new_epoch(self.done)

    def show_early_stopping(self, event: EarlyStoppingState) -> None:
        if event.improved:
            self.marks.append(Mark(self.done, "best", f"best epoch {event.epoch}"))

    def show_checkpoint_saved(self, event: CheckpointSaved) -> None:
        if event.kind == "last":
            self.marks.append(Mark(self.done, "saved", "last.pt"))

    def show_steps_skipped(self, event: StepsSkipped) -> None:
        seen = {m.step for m in self.marks if m.kind == "skipped"}
        self.marks += [Mark(s, "skipped", event.cause) for s in event.steps if s not in seen]

    def set_findings(self, marks: list[Mark]) -> None:
        """The doctor's marks (kind "doctor"), in place of its earlier ones: findings come and go."""
        self.marks = [m for m in self.marks if m.kind != "doctor"] + marks

    def show_intervention(self, event: Intervention) -> None:
        self.marks.append(Mark(event.step, "intervention", event.describe()))
        clip = event.changes.get("clip")
        if clip == "off":
            self.threshold = None
        elif clip is not None:
            self.threshold = float(clip)

    # -- laying out ----------------------------------------------------------------------------

    def epoch_share(self) -> float | None:
        """The running epoch's share of clipped steps (estimated), or the last epoch's."""
        if self.epoch_steps and self.threshold is not None:
            return self.epoch_clipped / self.epoch_steps
        return self.spans[-1][2] if self.spans else None

    def column(self, step: int, width: int) -> int | None:
        """The column of the step curves that shows global step ``step`` (1-based), None when off them."""
        count = self.done - self.origin
        if count <= 0 or not self.origin < step <= self.done:
            return None
        return min(width - 1, (step - self.origin - 1) * width // count)

    def row(self, width: int) -> list[tuple[str, str]]:
        """(character, kind) for each of ``width`` columns: the glyphs of the marks over the
        shaded clipped share ("clip"); kind "" where nothing is. A mark whose column holds
        another kind's glyph goes beside it when a neighbour is free, but for ``last.pt``, which
        shows only where nothing else is (a save at every epoch's end would crowd the others out)."""
        cells = [(" ", "")] * width
        if width <= 0 or self.done <= self.origin:
            return cells
        current = (self.epoch_first, self.done, self.epoch_share() if self.epoch_steps else None)
        for first, last, share in [*self.spans, current]:
            char = shade(share)
            a, b = self.column(max(first, self.origin) + 1, width), self.column(last, width)
            if char != " " and a is not None and b is not None:
                for c in range(a, b + 1):
                    cells[c] = (char, "clip")
        taken: dict[int, int] = {}  # column -> the priority of its glyph
        for mark in sorted(self.marks, key=lambda m: -PRIORITY.index(m.kind)):  # the most telling first
            c, rank = self.column(mark.step, width), PRIORITY.index(mark.kind)
            if c is None or taken.get(c) == rank:
                continue  # off the curves, or one like it is there
            free = [d for d in ((c, c - 1, c + 1) if rank else (c,)) if 0 <= d < width and d not in taken]
            if free:  # a column taken by another kind: beside it (a best epoch and the warm-up's end at one step)
                taken[free[0]] = rank
                cells[free[0]] = (GLYPHS[mark.kind][0], mark.kind)
        return cells

    def label(self) -> str:
        share = self.epoch_share()
        return f"clipped {share:.0%}" if share is not None else "markers"

    def legend(self, width: int = 80) -> list[tuple[str, str, str]]:
        """(glyph, kind, word) for each kind this run can show, the clipped share's shades last;
        the short words when the long ones would not fit in ``width`` columns (two spaces apart)."""
        kinds = ["best", "intervention", "skipped"]
        if any(m.kind == "doctor" for m in self.marks):
            kinds.append("doctor")
        if self.saves:
            kinds.insert(1, "saved")
        if self.plateau or any(m.kind == "lr" for m in self.marks):
            kinds.insert(1, "lr")
        clip = self.threshold is not None or any(s[2] is not None for s in self.spans)
        for words in (1, 2):
            out = [(GLYPHS[k][0], k, GLYPHS[k][words]) for k in kinds]
            if clip:
                out.append((SHADES, "clip", ("clipped share", "clipped")[words - 1]))
            if legend_width(out, 2) <= width:
                break
        return out


def legend_width(legend: list[tuple[str, str, str]], gap: int) -> int:
    """Columns the legend takes with ``gap`` spaces between its entries."""
    return sum(len(glyph) + 1 + len(word) for glyph, _, word in legend) + gap * (len(legend) - 1)
