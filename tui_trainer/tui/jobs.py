"""The app's jobs: start, pause, stop, steer or sample a training run, start an ablation, a lab
or the LR range test, the 10 Hz drain of a run's events into the live view, the end of a job,
and quitting while one runs. Every job runs in the app's worker process (:mod:`tui_trainer.worker`).
:class:`JobControl` is a part of :class:`~.app.TrainerApp` (its actions and message handlers),
kept here so that the app's module stays about layout, settings and screens."""

from __future__ import annotations

import asyncio

from textual.css.query import NoMatches
from textual.widgets import Button, ListView

from ..config import Config
from ..worker.jobs import AblateJob, LabJob, LRFindJob
from .handle import TrainingSession
from .messages import (
    AblateRequested,
    FollowRequested,
    LabRequested,
    ResumeRequested,
    RunsChanged,
    StopRequested,
    TreatRequested,
)
from .session import Job, JobFinished, JobUpdated, WorkerJob
from .widgets.settings_panel import SettingsPanel


class JobControl:
    """Actions and handlers of :class:`~.app.TrainerApp` for its background jobs. It uses the
    app's ``job``, ``session``, ``runs_dir``, ``runs_screen``, ``monitor``, ``_settings_ok`` and
    ``_place_settings``."""

    @property
    def busy(self) -> bool:
        """A job is in progress: a run, an ablation, a lab, the LR range test, or a followed run."""
        return self.job is not None and self.job.running

    @property
    def training(self) -> bool:
        """The job in progress is the run the main view shows (the app's own, or a followed one)."""
        return self.busy and self.job is self.session

    def _refuse_if_busy(self) -> bool:
        if self.busy:
            self.notify(f"{self.job.refusal}: stop it first (x)", severity="warning")
        return self.busy

    def action_start(self) -> None:
        if self._refuse_if_busy():
            return
        config = self._settings_ok("start")
        if config is None:
            return
        from ..usercode.refs import CodeError
        from ..usercode.trust import untrusted

        try:
            asked = untrusted(config)
        except CodeError as exc:
            self.notify(str(exc), severity="error")
            return
        if asked:  # the preset's own code, not said yes to yet: asked first, and nothing runs without a yes
            from .screens.trust import TrustScreen

            self.push_screen(TrustScreen(asked), lambda yes: self._trusted(config, asked, yes))
            return
        self.session = TrainingSession(config, self.runs_dir)
        self._begin(self.session)

    def _trusted(self, config: Config, refs: list, yes: bool | None) -> None:
        if not yes:
            self.monitor.write_log("[yellow]not started: the preset's code was not trusted[/]")
            return
        from ..usercode.trust import trust

        for ref in refs:
            trust(ref)
        self.start_when_described = True  # once the worker has read the model (greyed out what it cannot take)
        self._update_info()

    def on_resume_requested(self, message: ResumeRequested) -> None:  # u in the Runs view
        if self._refuse_if_busy():
            return
        from ..config import ConfigError, load_config

        try:
            config = load_config(message.path / "config.toml")
        except ConfigError as exc:
            self.notify(f"cannot resume {message.path.name}: {exc}", severity="error")
            return
        if self.screen is not self.screen_stack[0]:
            self.pop_screen()  # back to the live view, to watch it go on
        self.session = TrainingSession(config, self.runs_dir, resume=message.path)
        self._begin(self.session)
        self.monitor.write_log(f"resuming {message.path.name} from its last.pt")

    def _begin(self, job: Job) -> None:
        if self.worker is None and job.owned:
            self.start_worker()  # a key pressed before the first paint's worker was started
        self.job = job
        self._lock(True)
        job.start(self, self.worker if job.owned else None)
        self._place_settings()

    def action_pause(self) -> None:
        if not self.training:
            return
        paused = self.job.toggle_pause()
        self.monitor.paused = paused
        self.monitor.write_log("paused: p resumes" if paused else "resumed")
        self.query_one("#pause", Button).label = "Resume" if paused else "Pause"
        self.monitor.redraw()

    def action_sample(self) -> None:  # g: text from a language model's weights of the moment
        if self.training:
            self.monitor.write_log(self.job.request_sample())

    def action_stop(self) -> None:
        if not self.busy:
            return
        self.job.stop("stopped from the app" if self.training else f"{self.job.what} stopped from the app")
        self.job.announce()
        if self.training:
            self.monitor.write_log("stopping after the current step…")

    def action_steer(self, knob: str, value) -> None:  # -, +, c, [, ]: change the run that trains, at its next step
        if not self.training:
            self.notify("nothing is training: these keys steer a run while it trains", severity="warning")
            return

        def reply(status: str, detail: str, step: int) -> None:  # on the worker client's reader thread
            if status != "applied":
                self.call_from_thread(self.notify, f"refused: {detail}", severity="warning")

        self.job.steer({knob: value}, reply)

    def action_lr_find(self) -> None:  # l: the LR range test on the current settings, in its own screen
        if self._refuse_if_busy():
            return
        config = self._settings_ok("run the LR finder")
        if config is None:
            return
        from .screens.lr_find import STEPS, LRFindScreen

        job = WorkerJob(LRFindJob(config, STEPS))
        self._begin(job)
        self.push_screen(LRFindScreen(job), lambda lr: self._apply_lr(job, lr))

    def _apply_lr(self, job: WorkerJob, lr: float | None) -> None:
        if job.running:
            job.stop("the LR finder was closed")
        if lr is not None:
            self.query_one(SettingsPanel).set_value("train.lr", lr)
            self.notify(f"train.lr = {lr:g} (from the LR finder)")

    def on_stop_requested(self, message: StopRequested) -> None:
        if self.busy or message.path is None:
            self.action_stop()
            return
        from ..engine.commands import Stop
        from ..runs.nudge import send

        send(message.path, Stop("stopped from the app's Runs view"))
        self.notify(f"asked {message.path.name} to stop: it saves last.pt at its next step")

    def on_ablate_requested(self, message: AblateRequested) -> None:
        if self._refuse_if_busy():
            return
        config = self._settings_ok("ablate")
        if config is not None:
            self._begin(WorkerJob(AblateJob(config, message.seeds, self.runs_dir)))

    def on_lab_requested(self, message: LabRequested) -> None:  # enter in the Labs view
        if not self._refuse_if_busy():
            self._begin(WorkerJob(LabJob(message.name, message.seeds, self.runs_dir)))

    def on_treat_requested(self, message: TreatRequested) -> None:  # t in the Runs view
        """The run's first prescription beside its own settings, as a lab; the Labs view shows it
        train, its table and verdict, and the original run's curves with the treatment's."""
        if self._refuse_if_busy():
            return
        from ..doctor.treat import prepare
        from ..errors import UserError
        from ..runs.catalog import load_run

        try:
            lab_file, finding = prepare(load_run(message.path), self.runs_dir)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self._begin(WorkerJob(LabJob(str(lab_file), None, self.runs_dir)))
        self.notify(f"treating {message.path.name}: {finding.title}; trying {finding.prescription.typed}")
        self.action_labs()

    def on_job_updated(self, message: JobUpdated) -> None:
        """On to the screens that show jobs (each keeps to its own kind)."""
        for screen in (self.runs_screen, self.labs_screen):
            if screen is not None:
                screen.post_message(JobUpdated(message.job))

    def action_quit(self) -> None:
        """Quit; while a job runs, ask first: stop it (Enter), leave a run training (l), or stay (Escape)."""
        if not self.busy or not self.job.owned:
            self._leave()  # a followed run goes on training, as it did before the app came
            return
        from .screens.quit import QuitScreen

        question = QuitScreen(self.job.what, getattr(self.job, "run_dir", None), self.job.can_leave)
        self.push_screen(question, self._quit_answered)

    async def _quit_answered(self, answer: str | None) -> None:
        job = self.job
        if answer is None or job is None:
            return
        if not job.running:
            self._leave()
        elif answer == "leave":
            job.detach()
            self.monitor.write_log("leaving the run training…")
            await asyncio.to_thread(job.detached.wait, 10)
            where = job.run_dir or "its run folder"
            self._leave(f"{where} keeps training in process {self.worker.pid}: `tui-trainer watch latest` follows "
                        "it, and the app shows it in its Runs view (r), where x stops it")
        else:
            job.stop("the app was closed")
            self.monitor.write_log("stopping before quitting…")
            await asyncio.to_thread(job.finished.wait, 60)  # the current run writes last.pt and its summary
            self._leave()

    def _leave(self, message: str | None = None) -> None:
        self.quitting = True
        self.exit(message=message)

    def _lock(self, locked: bool) -> None:
        if not self.job.locks_settings:
            return  # the LR finder: its own screen, over the settings
        self.query_one(SettingsPanel).disabled = locked
        self.query_one("#presets", ListView).disabled = locked
        self.query_one("#start", Button).disabled = locked or bool(self.query_one(SettingsPanel).errors)
        self.query_one("#pause", Button).disabled = not (locked and self.job is self.session)
        self.query_one("#stop", Button).disabled = not locked
        self.query_one("#pause", Button).label = "Pause"

    # -- the 10 Hz drain, and the end of a job ---------------------------------------------------

    def drain(self) -> None:
        """The 10 Hz tick: the shown run's new events (or its data's loading) into the live view."""
        session = self.session
        if session is None:
            return
        loading, events = session.take_loading(), session.drain()
        if not (loading or events):
            return
        try:
            monitor = self.monitor
        except NoMatches:  # the app is closing: its widgets are gone
            return
        if events:
            monitor.feed(events)
        else:
            monitor.show_loading(*loading)

    def on_follow_requested(self, message: FollowRequested) -> None:  # w in the Runs view
        if self._refuse_if_busy():
            return
        from .follow import FollowedRun

        if self.screen is not self.screen_stack[0]:
            self.pop_screen()  # back to the live view
        self.session = FollowedRun(message.path)
        self._begin(self.session)
        self.monitor.write_log(f"following {message.path.name}, trained by another process: p, x, g and the "
                               "steering keys reach it through its folder; q leaves it training")

    def on_job_finished(self, message: JobFinished) -> None:
        job = message.job
        self.drain()
        try:
            monitor = self.monitor
        except NoMatches:  # the app is closing: its widgets are gone
            return
        if job.failure:
            monitor.write_log(f"[red]the {job.what} failed:[/] {job.failure}")
        job.announce()
        if job is self.job:
            self._lock(False)
            self.monitor.paused = False
            self.monitor.redraw()
            self._place_settings()
        if self.runs_screen is not None:
            self.runs_screen.post_message(RunsChanged())
