"""The Labs view (key ``b``): the lesson's questions, each answered by a small experiment.

The list shows every lab (``tui-trainer lab list``'s). The lab under the cursor shows what it
will run (its base preset, each arm's settings, the scan, the seeds) and about how long that
takes here; when it has been run before, the table and verdict of its newest folder too, and
its runs' curves. Enter runs it: the screen asks the app (:class:`~..messages.LabRequested`),
the app runs the lab's runs in worker processes and tells the screen as each ends
(:class:`~..session.JobUpdated`); the curves are read from the runs' folders every second,
so they move while the runs train. ``x`` stops the lab (every run saves and resumes next time).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from ...display import duration, headline_cell
from ...doctor.treat import treated_run
from ..messages import LabRequested, StopRequested
from ...worker.jobs import LabJob
from ..session import JobUpdated
from ..widgets.overlay_plot import OverlayPlot


class LabsScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("enter", "run", "Run the lab", priority=True),
        Binding("x", "stop", "Stop"),
        Binding("m", "metric", "Next curve"),
        Binding("o", "log_scale", "Log/linear", show=False),
    ]
    CSS = """
    #labs-left { width: 1fr; }
    #labs-right { width: 1fr; border-left: solid $primary-background; padding: 0 1; }
    #labs-table { height: auto; max-height: 14; }
    #lab-seeds-row { height: 1; }
    #lab-seeds-row Label { width: auto; padding-right: 1; }
    #lab-seeds { width: 6; }
    #lab-detail { height: 1fr; }
    #lab-text { width: auto; }
    #lab-status { height: auto; color: $text-muted; }
    """

    def __init__(self, runs_dir: Path | str):
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.labs: list[tuple[str, Any]] = []  # (name, Lab or the reason it is invalid)
        self.job: Any = None  # the LabJob the app runs for this screen, once one started
        self.shown_folder: Path | None = None  # whose runs the overlay draws
        self.shown_original: Path | None = None  # a treatment's: the run it treats, drawn beside its runs

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="labs-left"):
                yield DataTable(id="labs-table", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="lab-seeds-row"):
                    yield Label("enter: run it on")
                    yield Input("", placeholder="its", id="lab-seeds", type="integer", compact=True)
                    yield Label("seeds (blank: the lab's own)")
                with ScrollableContainer(id="lab-detail"):  # tables wider than the pane scroll sideways
                    yield Static("", id="lab-text")
            with Vertical(id="labs-right"):
                yield OverlayPlot(id="lab-overlay")
                yield Static("", id="lab-status")
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

    def on_mount(self) -> None:
        from ...experiments.labs import LabError, lab_paths, load_lab
        from ...experiments.labs.reference import expected

        table = self.query_one("#labs-table", DataTable)
        *_, self.time_column = table.add_columns("lab", "question", "runs", "time")
        for name, path in lab_paths().items():
            try:
                lab = load_lab(path, check_configs=False)
            except LabError as exc:
                self.labs.append((name, str(exc)))
                table.add_row(name, "invalid lab file", "", "", key=name)
                continue
            self.labs.append((name, lab))
            time = expected(lab, self.runs_dir)  # here, or the reference machine's ("ref")
            table.add_row(name, lab.question, str(lab.run_count()), time.cell() if time else "not run", key=name)
        self.query_one(OverlayPlot).empty = "not run yet: enter runs it, and its runs' curves draw here as they train"
        self.set_interval(1.0, lambda: self.running and self._refresh_curves())  # a finished lab's runs do not move
        table.focus()
        self._describe()

    def on_screen_resume(self) -> None:
        self._describe()

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def _current(self) -> tuple[str, Any] | None:
        table = self.query_one("#labs-table", DataTable)
        return self.labs[table.cursor_row] if self.labs and 0 <= table.cursor_row < len(self.labs) else None

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        """The lab under the cursor: what it runs and for how long; its newest result, if any.
        While a lab runs, that lab's progress instead."""
        if self.running:
            return self._show_job()
        current = self._current()
        text = self.query_one("#lab-text", Static)
        if current is None:
            text.update("no labs found")
            return
        name, lab = current
        if isinstance(lab, str):
            text.update(Text(f"{name}: {lab}", style="red"))
            return
        from ...experiments.labs.runner import lab_folders, read_session

        out = Text(no_wrap=True)
        out.append(f"{lab.question}\n\n", style="bold")
        out.append(plan_text(lab, self._seeds(), self.runs_dir) + "\n")
        folders = lab_folders(self.runs_dir, name)
        if folders:
            try:
                session = read_session(folders[0])
            except Exception:  # noqa: BLE001 - a folder being written or damaged: shown as the plan alone
                session = None
            if session is not None and session.results:
                out.append(f"\nlast run ({folders[0].name}):\n", style="bold")
                out.append_text(result_text(session))
        self._show_runs(folders[0] if folders else None)
        text.update(out)

    def _measured_time(self, lab: Any) -> None:
        """A lab that ran here has a measured time: its row shows it at once."""
        from ...experiments.labs.runner import estimate

        listed = dict(self.labs).get(lab.name)  # the lab file as loaded, with its settings
        seconds = estimate(listed, self.runs_dir) if listed is not None and not isinstance(listed, str) else None
        if seconds:
            self.query_one("#labs-table", DataTable).update_cell(lab.name, self.time_column, f"~{duration(seconds)}")

    def _seeds(self) -> int | None:
        value = self.query_one("#lab-seeds", Input).value.strip()
        try:
            seeds = int(value) if value else None
        except ValueError:
            return None
        return seeds if seeds is None or 1 <= seeds <= 20 else None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "lab-seeds" and not self.running:
            self._describe()

    def action_run(self) -> None:
        if isinstance(self.focused, Input):  # enter in the seeds box: back to the list
            self.query_one("#labs-table", DataTable).focus()
            return
        current = self._current()
        if current is None or isinstance(current[1], str):
            self.notify("choose a valid lab first", severity="error")
            return
        raw = self.query_one("#lab-seeds", Input).value.strip()
        if raw and self._seeds() is None:
            self.notify("seeds: give a number from 1 to 20, or leave it blank for the lab's own", severity="error")
            return
        if self.running:
            self.notify("a lab is running: x stops it", severity="warning")
            return
        self.post_message(LabRequested(current[0], self._seeds()))

    def action_stop(self) -> None:
        self.post_message(StopRequested())

    def action_metric(self) -> None:
        self.query_one(OverlayPlot).next_metric()

    def action_log_scale(self) -> None:
        self.query_one(OverlayPlot).toggle_log()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- a lab that runs: told by the app, drawn from its folders ----------------------------

    def on_job_updated(self, message: JobUpdated) -> None:
        if isinstance(getattr(message.job, "spec", None), LabJob):
            self.job = message.job
            self._show_job()

    def _show_job(self) -> None:
        job = self.job
        session = job.progress  # the lab's plan, with its results and folder filling in
        status = self.query_one("#lab-status", Static)
        text = self.query_one("#lab-text", Static)
        if session is None:  # refused before it was planned
            status.update(Text(f"the lab failed: {job.failure}", style="red") if job.failure else "planning…")
            return
        lab, done, total = session.lab, len(session.results), len(session.runs)
        original = treated_run(job.spec.lab)  # a treatment (the Runs view's t): the run it treats
        out = Text(no_wrap=True)
        out.append(f"{lab.question}\n\n", style="bold")
        if original is not None:
            out.append_text(original_text(original))
        if session.results:
            out.append_text(result_text(session))
        else:
            out.append(plan_text(lab, len(session.seeds), self.runs_dir) + "\n")
        text.update(out)
        if job.finished.is_set():
            self._measured_time(lab)
            state = (f"failed: {job.failure}" if job.failure else "complete" if session.complete
                     else "stopped: enter runs it again and resumes the stopped runs")
        else:
            state = "stopping after the current steps…" if job.stopping else "running: x stops it"
        status.update(f"{lab.name}: {done}/{total} runs done, {state}. {session.folder or ''}")
        self._show_runs(session.folder, original)

    def _show_runs(self, folder: Path | None, original: Path | None = None) -> None:
        self.shown_folder, self.shown_original = folder, original
        self._refresh_curves()

    def _refresh_curves(self) -> None:
        from ...runs.catalog import group_runs, load_run

        folder = self.shown_folder
        runs = []
        if self.shown_original is not None:
            try:
                runs.append(load_run(self.shown_original))
            except Exception:  # noqa: BLE001 - moved or deleted since: the treatment's runs alone
                pass
        if folder is not None and folder.is_dir():
            for path in group_runs(folder) or []:
                try:
                    runs.append(load_run(path))
                except Exception:  # noqa: BLE001 - a run folder being created: the next second reads it
                    continue
        self.query_one(OverlayPlot).set_runs(runs)


WRAP = 76  # prose is wrapped to the pane; tables are not, and scroll sideways


def plan_text(lab: Any, seeds: int | None, runs_dir: Path | str) -> str:
    """What the lab will run: its base preset and shared settings, each arm, the scan, the
    seeds, the count of runs and the time it took here."""
    from ...experiments.labs.reference import expected

    def settings(values: dict[str, Any]) -> str:
        return ", ".join(f"{k} = {v}" for k, v in values.items()) or "the base settings"

    seeds = seeds or lab.seeds
    lines = [f"runs {lab.base} with {settings(lab.settings)}"]
    lines += [f"  {arm.name}: {settings(arm.overrides)}" for arm in lab.arms]
    if lab.scan is not None:
        lines.append(f"  each at {lab.scan.key} = "
                     f"{', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in lab.scan.values)}")
    count = len(lab.arms) * (len(lab.scan.values) if lab.scan else 1) * seeds
    time = expected(lab, runs_dir, seeds)
    lines.append(f"{count} runs ({seeds} seed{'s' if seeds > 1 else ''} each), "
                 + (time.text() if time else "not run here yet"))
    lines.append(f"judged on: {', '.join(dict.fromkeys(r.metric for r in lab.rules))}")
    text = "\n".join(textwrap.fill(line, WRAP,
                                   subsequent_indent="    ") if len(line) > WRAP else line for line in lines)
    return text + "\n\n" + textwrap.fill(f"the lesson: {lab.lesson}", WRAP)


def original_text(path: Path) -> Text:
    """The run a treatment treats, as it ended: its result is the one the treatment's "as run" repeats."""
    from ...runs.catalog import load_run

    try:
        run = load_run(path)
    except Exception:  # noqa: BLE001 - moved or deleted since
        return Text(f"the treated run {path.name} cannot be read any more\n\n", style="dim")
    seed = run.config.train.seed if run.config is not None else "?"
    return Text(f"the run treated: {run.id}, {run.status}, test {headline_cell(run.summary)} (seed {seed}); its "
                "curves are drawn with the treatment's\n\n")


def result_text(session: Any) -> Text:
    """The table of a lab's results and, once complete, its verdict."""
    from ...experiments.labs.runner import table_text

    out = Text(table_text(session) + "\n\n")
    if session.verdict is not None:
        verdict = session.verdict
        style = {"holds": "bold green", "contradicted": "bold red",
                 "unclear": "bold yellow"}.get(verdict.outcome, "bold")
        out.append(verdict.headline + ".\n", style=style)
        out.append("\n".join(textwrap.fill(f"  {line}", WRAP,
                                           subsequent_indent="      ") for line in verdict.lines) + "\n")
        if verdict.noise:
            out.append(textwrap.fill(f"  ({verdict.noise})", WRAP, subsequent_indent="   ") + "\n", style="dim")
        out.append("\n" + textwrap.fill(f"the lesson: {session.lab.lesson}", WRAP) + "\n")
    return out
