"""The jobs a worker runs, each declared once: a frozen dataclass that the app sends (plain data,
pickled; no torch on the app's side) and that knows how to run itself in the worker, through
the library's own entry points (:meth:`JobSpec.run`): a run (or a resume) through the launcher,
an ablation, a lab, the LR range test.

A job talks to the worker through its :class:`Host`: the events of its run, its data's loading,
its progress (:meth:`Host.update`), and the job's :class:`~tui_trainer.engine.Control`, which
the app's commands reach. What ``run`` returns travels back in
:class:`~.protocol.Finished`; a :class:`~tui_trainer.errors.UserError` it raises becomes the
one line the app shows.

A new kind of job is one class here: its fields, what the app calls it, and ``run``.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..config import Config
from ..engine.control import Control


class Host(Protocol):
    """What a job may use of the worker that runs it."""

    control: Control  # the job's: the app's stop, pause, steering and sample requests reach it

    def event(self, event: Any) -> None: ...  # a run's event, to the app

    def loading(self, label: str, done: int, total: int | None) -> None: ...  # the data's download, decoding

    def prepared(self, can_sample: bool) -> None: ...  # the run is prepared: what the app may ask of it

    def update(self, value: Any) -> None: ...  # progress: a plan with results filling in, a curve

    def attached(self, launcher: Any) -> None: ...  # the run has its folder (and its lock)


@dataclass(frozen=True)
class JobSpec:
    """A job the app asks its worker to run."""

    what: ClassVar[str] = "job"  # in the app's messages: "the run failed", "stop the ablation"
    refusal: ClassVar[str] = "a job is running"  # why another cannot start now
    locks_settings: ClassVar[bool] = True  # the settings cannot change while it runs
    can_leave: ClassVar[bool] = False  # quitting may leave it training (a run), or only stop it

    def run(self, host: Host) -> Any:  # pragma: no cover - each job says
        raise NotImplementedError


@dataclass(frozen=True)
class TrainJob(JobSpec):
    """One run, or the resume of one (``resume``: its folder, with its own config), as
    ``tui-trainer train`` runs it (the same launcher). Its end is told by its events."""

    what = "run"
    refusal = "a run is already going"
    can_leave = True

    config: Config | None = None
    runs_dir: Path = Path("runs")
    resume: Path | None = None

    def run(self, host: Host) -> None:
        from ..launcher import Launcher

        control = host.control
        if self.resume is not None:
            launcher = Launcher(resume=self.resume, sinks=[host.event], progress=host.loading)
        else:
            launcher = Launcher(self.config, runs_dir=self.runs_dir, sinks=[host.event], progress=host.loading)
        try:
            trainer = launcher.prepare()  # refuses what cannot run here before a folder is made
            host.prepared(trainer.samples.enabled)
            if control.stop_requested:  # stopped while the data loaded: no folder was made
                return
            launcher.attach()
            host.attached(launcher)  # left training while the data loaded: its lock says so now
            launcher.run(control)
        except Exception:
            if launcher.trainer is None or launcher.trainer.record.ended is None:
                raise
            traceback.print_exc()  # the run's end event told the app how it failed; the log keeps the rest
        finally:
            launcher.close()
            host.attached(None)


@dataclass(frozen=True)
class AblateJob(JobSpec):
    """The preset, then once per trick with that trick switched, run after run in this process."""

    what = "ablation"
    refusal = "an ablation is running (Runs view, r)"

    config: Config | None = None
    seeds: int = 1
    runs_dir: Path = Path("runs")

    def run(self, host: Host) -> None:
        from ..engine.precision import why_not_here
        from ..experiments import ablate as ablation
        from ..experiments.trials import InProcessTrials

        control = host.control
        plan = ablation.plan(self.config, None, self.seeds, why_not_here)
        host.update(plan)
        ablation.run(plan, self.runs_dir, InProcessTrials(control), lambda *_: host.update(plan),
                     should_stop=lambda: control.stop_requested)
        host.update(plan)


@dataclass(frozen=True)
class LabJob(JobSpec):
    """A lab: its runs in worker processes of this one, one per core; each result sent as it ends."""

    what = "lab"
    refusal = "a lab is running (Labs view, b)"

    lab: str = ""
    seeds: int | None = None  # None: the lab's own
    runs_dir: Path = Path("runs")

    def run(self, host: Host) -> None:
        from ..experiments.labs import load_lab
        from ..experiments.labs.runner import folder_for, plan, run
        from ..experiments.plan import cores
        from ..experiments.trials import local_trials

        spec = load_lab(self.lab)
        jobs = min(cores(), spec.run_count(self.seeds))
        session = plan(spec, self.seeds, jobs=jobs)
        session.folder = folder_for(self.runs_dir, session)  # the screen draws its runs from the start
        host.update(session)
        control = host.control
        run(session, self.runs_dir, local_trials(jobs, control, quiet=True), lambda *_: host.update(session),
            should_stop=lambda: control.stop_requested)
        host.update(session)


class Stopped(Exception):
    """The LR range test was stopped from the app."""


@dataclass(frozen=True)
class LRFindJob(JobSpec):
    """The LR range test on a copy of the model; its curve sent as it grows, the result at the end."""

    what = "LR range test"
    refusal = "the LR finder is running"
    locks_settings = False  # its screen covers them, and closing it stops the sweep

    config: Config | None = None
    steps: int = 100

    def run(self, host: Host) -> Any:
        from ..engine.lr_find import lr_find
        from ..launcher import Launcher

        control = host.control
        trainer = Launcher(self.config, progress=host.loading).prepare()
        points: list[tuple[float, float]] = []  # (lr, smoothed loss)

        def progress(step: int, lr: float, smooth: float) -> None:
            points.append((lr, smooth))
            host.update(list(points))
            if control.stop_requested:
                raise Stopped()

        try:
            return lr_find(trainer.setup, trainer.parts, 1e-7, 10.0, self.steps, progress)
        except Stopped:
            return None
