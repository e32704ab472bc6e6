"""The Runs view (key ``r``): past runs, their curves overlaid, and ablations.

Select runs with space (or enter) to overlay one of their curves; ``m`` switches the curve.
``a`` asks the app to ablate the current settings on the seeds given; the app runs it and
posts :class:`~..session.JobUpdated` here as each run ends, which fills the table.
``x`` asks the app to stop what is running. The screen never reaches into the app: it
posts requests and is told what changed.

The newest sweep under the runs folder (``tui-trainer sweep``, run by another process, here or
on Ray) shows in its own table, read from its ``sweep.json`` every second, so it fills in as
trials end; while it runs, ``x`` stops it (a ``STOP`` file in its folder: every trial saves at
a step boundary and stays resumable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from ...experiments import ablate
from ...experiments import sweep as sweeps
from ...display import duration, fmt, headline_cell
from ...runs.catalog import SHORT, RunInfo, scan_runs
from ...experiments.trials import FINISHED, request_stop
from ..messages import AblateRequested, FollowRequested, ResumeRequested, RunsChanged, StopRequested, TreatRequested
from ...worker.jobs import AblateJob
from ..session import JobUpdated
from ..widgets.overlay_plot import OverlayPlot


#: How often the list is read again while one of its runs trains.
RUNNING_SECONDS = 2.0


class RunsScreen(Screen):
    BINDINGS = [
        Binding("escape,r", "back", "Back"),
        Binding("space", "toggle", "Select", show=True),
        Binding("m", "metric", "Next curve"),
        Binding("o", "log_scale", "Log/linear", show=False),
        Binding("e", "smooth", "Smooth loss", show=False),
        Binding("a", "ablate", "Ablate"),
        Binding("x", "stop", "Stop"),
        Binding("f5", "reload", "Reload"),
        Binding("slash", "filter", "Filter", show=False),
        Binding("u", "resume", "Resume", show=False),
        Binding("w", "follow", "Follow live", show=False),
        Binding("t", "treat", "Treat", show=False),
        # the training keys still work here; the footer keeps to this view's own, so it fits 80 columns
        *(Binding(key, f"app.{action}", label, show=False) for key, action, label in (
            ("s", "start", "Start"), ("p", "pause", "Pause"), ("f", "settings", "Settings"), ("d", "data", "Data"),
            ("b", "labs", "Labs"))),
    ]
    CSS = """
    #runs-left { width: 1fr; }
    #runs-right { width: 1fr; border-left: solid $primary-background; padding: 0 1; }
    #runs-table { height: 1fr; }
    #run-doctor { height: auto; max-height: 3; }
    #runs-filter { height: 1; border: none; }
    #ablate-row { height: 1; }
    #ablate-row Label { width: auto; padding-right: 1; }
    #ablate-seeds { width: 6; }
    #ablation-table { height: auto; max-height: 12; }
    #ablation-status { height: auto; color: $text-muted; }
    #sweep-table { height: auto; max-height: 12; }
    #sweep-status { height: auto; color: $text-muted; }
    """

    def __init__(self, runs_dir: Path):
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.runs: list[RunInfo] = []
        self.selected: set[str] = set()
        self.ablation: ablate.Ablation | None = None
        self.sweep: sweeps.Sweep | None = None
        self._sweep_seen: tuple | None = None  # what the sweep table shows (folder, mtime), to redraw only on change

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="runs-left"):
                yield Input(placeholder="/ filter: words in the id, preset, tricks or status", id="runs-filter",
                            compact=True)
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="run-doctor")
                with Horizontal(id="ablate-row"):
                    yield Label("a: ablate the current settings on")
                    yield Input("2", id="ablate-seeds", type="integer", compact=True)
                    yield Label("seeds")
                yield DataTable(id="ablation-table", cursor_type="none")
                yield Static("", id="ablation-status")
                yield DataTable(id="sweep-table", cursor_type="none")
                yield Static("", id="sweep-status")
            with Vertical(id="runs-right"):
                yield OverlayPlot(id="overlay")
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        # what a run came to first, so a half-width pane at 80 or 120 columns shows it; its make-up after
        table.add_columns("", "id", "status", "test score", "best val", "time", "preset", "tricks")
        ablation = self.query_one("#ablation-table", DataTable)
        ablation.add_columns("variant", *[h for h, _, _ in ablate.COLUMNS], "diverged")
        ablation.display = False  # shown once an ablation starts: the runs get the room until then
        sweep = self.query_one("#sweep-table", DataTable)
        sweep.add_columns("grid point", "test", "best val loss", "seeds done", "diverged", "pruned")
        sweep.display = self.query_one("#sweep-status").display = False  # shown when the runs folder holds a sweep
        self.action_reload()
        self._show_sweep()
        self.set_interval(1.0, self._show_sweep)
        self.set_interval(RUNNING_SECONDS, self._reload_running)
        table.focus()

    def _reload_running(self) -> None:
        """Read the list again while a run in it trains: its status, scores and curve move."""
        if any(run.status == "running" for run in self.runs):
            self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def on_runs_changed(self, _message: RunsChanged) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        current = self.runs[table.cursor_row].path if self.runs and 0 <= table.cursor_row < len(self.runs) else None
        words = self.query_one("#runs-filter", Input).value.lower().split()
        # newest first
        self.runs = [r for r in reversed(scan_runs(self.runs_dir)) if all(w in self._haystack(r) for w in words)]
        table.clear()
        for run in self.runs:
            table.add_row(*self._row(run), key=str(run.path))
        paths = [r.path for r in self.runs]
        if current in paths:  # the cursor stays on the run it was on
            table.move_cursor(row=paths.index(current), animate=False)
        self._show_doctor()
        if not self.runs and self.ablation is None:
            self.query_one("#ablation-status", Static).update(f"no runs in {self.runs_dir} yet")
        self._overlay()

    @staticmethod
    def _haystack(run: RunInfo) -> str:
        """What the filter searches: the run's id, preset, tricks and status."""
        return " ".join([run.id, run.preset, *run.tricks, run.status]).lower()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.action_reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            self.query_one("#runs-table", DataTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runs-table":
            self._show_doctor()

    def _show_doctor(self) -> None:
        """The doctor's word on the run under the cursor, and ``t`` to treat it."""
        self.query_one("#run-doctor", Static).update(doctor_line(self._cursor_run(), self.runs_dir))

    def action_treat(self) -> None:
        run = self._chosen(lambda r: f"{r.id} is training now: t treats it once it has ended"
                           if r.status == "running" else None)
        if run is not None:
            self.post_message(TreatRequested(run.path))

    def _cursor_run(self) -> RunInfo | None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row is None or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    def _chosen(self, refusal: Callable[[RunInfo], str | None]) -> RunInfo | None:
        """The run under the cursor for a key's action, unless there is none or ``refusal`` gives the
        reason the key does not apply to it (said as a warning)."""
        run = self._cursor_run()
        why = refusal(run) if run is not None else None
        if why:
            self.notify(why, severity="warning")
        return None if why else run

    def action_follow(self) -> None:
        run = self._chosen(lambda r: f"{r.id} is {r.status}: w follows a run while it trains"
                           if r.status != "running" else None)
        if run is not None:
            self.post_message(FollowRequested(run.path))

    def action_resume(self) -> None:
        def refusal(r: RunInfo) -> str | None:
            if r.status == "running":
                return f"{r.id} is training now (w follows it, x stops it)"
            if r.status not in ("stopped", "failed", "pruned", "interrupted"):
                return f"{r.id} is {r.status}: only a stopped, failed, pruned or killed run can be resumed"
            return None

        run = self._chosen(refusal)
        if run is not None:
            self.post_message(ResumeRequested(run.path))

    def action_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def _mark(self, run: RunInfo) -> Text | str:
        """● selected (its curve is overlaid), ▶ training now (w follows it), or nothing."""
        if str(run.path) in self.selected:
            return "●"
        return Text("▶", style="bold green") if run.status == "running" else " "

    def _row(self, run: RunInfo) -> list:
        mark = self._mark(run)
        return [mark, run.id, run.status, headline_cell(run.summary), fmt(run.summary.get("best_val_loss")),
                duration(run.summary.get("wall_seconds")), run.preset,
                " ".join(SHORT.get(t, t) for t in run.tricks) or "-"]

    def action_toggle(self) -> None:
        run = self._cursor_run()
        if run is None:
            return
        key = str(run.path)
        self.selected.symmetric_difference_update({key})
        table = self.query_one("#runs-table", DataTable)
        table.update_cell(key, table.ordered_columns[0].key, self._mark(run))
        self._overlay()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs-table":
            self.action_toggle()

    def _overlay(self) -> None:
        self.query_one(OverlayPlot).set_runs([r for r in self.runs if str(r.path) in self.selected])

    def action_metric(self) -> None:
        self.query_one(OverlayPlot).next_metric()

    def action_log_scale(self) -> None:
        self.query_one(OverlayPlot).toggle_log()

    def action_smooth(self) -> None:
        self.query_one(OverlayPlot).toggle_smooth()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- ablation: asked of the app, shown here ----------------------------------------------

    def action_ablate(self) -> None:
        try:
            seeds = int(self.query_one("#ablate-seeds", Input).value or "0")
        except ValueError:
            seeds = 0
        if not 1 <= seeds <= 20:
            self.notify("seeds: give a number from 1 to 20", severity="error")
            return
        self.post_message(AblateRequested(seeds))

    def action_stop(self) -> None:
        if self.sweep is not None and self.sweep.in_progress and self.sweep.folder is not None:
            request_stop(self.sweep.folder)
            self.notify(f"asked the sweep in {self.sweep.folder.name} to stop: its trials "
                        "save at a step and stay resumable")
            return
        run = self._cursor_run()
        self.post_message(StopRequested(run.path if run is not None and run.status == "running" else None))

    # -- a sweep another process runs: read from its folder --------------------------------

    def _show_sweep(self) -> None:
        folder = sweeps.latest(self.runs_dir)
        try:
            seen = (folder, (folder / "sweep.json").stat().st_mtime_ns) if folder is not None else None
        except OSError:
            return
        if seen == self._sweep_seen:
            return
        self._sweep_seen = seen
        if folder is None:
            return
        try:
            self.sweep = sweep = sweeps.load(folder)
        except (OSError, ValueError, KeyError):
            return  # being written: the next second reads it
        body, metric = sweeps.rows(sweep)
        table = self.query_one("#sweep-table", DataTable)
        table.display = self.query_one("#sweep-status").display = True
        table.columns[table.ordered_columns[1].key].label = Text(f"test {metric}")
        table.clear()
        for row in body:
            table.add_row(*row)
        done = sum(1 for r in sweep.results.values() if r.get("status") in FINISHED)
        state = ("running: x stops it" if sweep.in_progress else "stopped: `tui-trainer sweep` again resumes it"
                 if done < len(sweep.trials) else "complete")
        self.query_one("#sweep-status", Static).update(
            f"sweep of {sweep.preset}: {done}/{len(sweep.trials)} trials, {state}. Mean ± std "
            f"over seeds, best first. {folder}")
        if done:
            self.action_reload()

    def on_job_updated(self, message: JobUpdated) -> None:
        job = message.job
        if not isinstance(getattr(job, "spec", None), AblateJob):
            return  # not an ablation: another screen's
        self.ablation = plan = job.progress
        status = self.query_one("#ablation-status", Static)
        if plan is None:  # refused before it was planned
            status.update(f"[red]ablation failed:[/] {job.failure}" if job.failure else "")
            return
        table = self.query_one("#ablation-table", DataTable)
        table.display = True
        table.clear()
        for row in ablate.rows(plan):
            table.add_row(*row)
        done = sum(len(v) for v in plan.results.values())
        total = len(plan.variants) * len(plan.seeds)
        skipped = "; ".join(f"not run: {t} ({why[:60]})" for t, why in plan.not_run)
        if done:
            self.action_reload()  # the finished runs appear in the list
        lines = [f"{plan.preset}: {done}/{total} runs, seeds {', '.join(map(str, plan.seeds))}. "
                 f"Differences to the baseline of the same seed, mean ± std. {skipped}"]
        if job.finished.is_set():
            if job.failure:
                lines.append(f"[red]ablation failed:[/] {job.failure}")
            elif job.stopping and done < total:
                lines.append("stopped")
            if plan.folder is not None:
                lines.append(f"runs in {plan.folder}")
        elif job.stopping:
            lines.append("stopping after the current run…")
        status.update("\n".join(lines))


def doctor_line(run: RunInfo | None, runs_dir: Path) -> Text:
    """``doctor: warning: over-fitting, high confidence; t treats it (--early-stopping), 3 seeds a side``,
    with the outcome of its last treatment; empty for no run or one with no epoch."""
    from ...doctor import diagnose_run
    from ...doctor.treat import DEFAULT_SEEDS, treatment_outcome
    from ...errors import UserError

    if run is None:
        return Text("")
    try:
        diagnosis = diagnose_run(run.path, runs_dir)
    except (UserError, OSError, ValueError):
        return Text("")
    if not diagnosis.epochs:
        return Text("")
    line = Text.assemble(("doctor ", "bold"), diagnosis.headline())
    treatable = next((f for f in diagnosis.findings if f.prescription is not None), None)
    if treatable is not None and run.status != "running":
        line.append(f"; t treats it ({treatable.prescription.typed}, {DEFAULT_SEEDS} seeds a side)", style="dim")
    outcome = treatment_outcome(run.path, runs_dir)
    if outcome is not None:
        line.append(f"; treated: {outcome}", style="bold")
    return line
