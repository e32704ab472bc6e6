"""The jobs a worker runs, each through the library's own entry points: a run (or a resume)
through the launcher, an ablation, a lab, the LR range test. Each returns its outcome, a dict
the app reads: ``summary`` and ``run_dir`` for a run, ``result`` for the range test, ``error``
for a refusal or a crash (one line).

``host`` is the worker (:class:`~.serve.Worker`): it sends messages to the app, feeds the events
of the run in progress to it, and owns the Controls that the app's keys reach.
"""

from __future__ import annotations

from typing import Any

from .protocol import Job


class Stopped(Exception):
    """The LR range test was stopped from the app."""


def run_job(job: Job, host: Any) -> dict[str, Any]:
    return {"train": train, "ablate": ablate, "lab": lab, "lr_find": lr_find}[job.kind](job, host)


def train(job: Job, host: Any) -> dict[str, Any]:
    """One run, or the resume of one, as ``tui-trainer train`` runs it (the same launcher)."""
    from ..launcher import Launcher

    control = host.new_run_control()
    if job.resume is not None:
        launcher = Launcher(resume=job.resume, sinks=[host.event], progress=host.loading)
    else:
        launcher = Launcher(job.config, runs_dir=job.runs_dir, sinks=[host.event], progress=host.loading)
    host.launcher = launcher
    try:
        trainer = launcher.prepare()  # refuses what cannot run here before a folder is made
        host.send("prepared", {"can_sample": trainer.samples.enabled})
        if control.stop_requested:  # stopped while the data loaded: no folder was made
            return {"summary": None, "run_dir": None}
        launcher.attach()
        host.attached(launcher)  # left training while the data loaded: its lock says so now
        result = launcher.run(control)
    finally:
        launcher.close()
        host.launcher = None
    return {"summary": result.summary, "run_dir": result.run_dir}


def ablate(job: Job, host: Any) -> dict[str, Any]:
    """The preset, then once per trick with that trick switched, run after run in this process."""
    from ..experiments import ablate as ablation
    from ..engine.precision import why_not_here

    plan = ablation.plan(job.config, None, job.seeds or 1, why_not_here)
    host.send("update", plan)
    ablation.run(plan, job.runs_dir, ablation.local_trainer(host.new_run_control), lambda *_: host.send("update", plan),
                 should_stop=lambda: host.stop_requested)
    return {"plan": plan}


def lab(job: Job, host: Any) -> dict[str, Any]:
    """A lab: its runs in worker processes of this one, one per core; each result sent as it ends."""
    from ..experiments.labs import load_lab
    from ..experiments.labs.runner import cores, folder_for, plan, run
    from ..experiments.trials import ProcessTrials

    spec = load_lab(job.lab)
    jobs = min(cores(), spec.run_count(job.seeds))
    session = plan(spec, job.seeds, jobs=jobs)
    session.folder = folder_for(job.runs_dir, session)  # the screen draws its runs from the start
    host.send("update", session)
    control = host.new_run_control()
    run(session, job.runs_dir, ProcessTrials(jobs, control, quiet=True), lambda *_: host.send("update", session),
        should_stop=lambda: control.stop_requested)
    return {"plan": session}


def lr_find(job: Job, host: Any) -> dict[str, Any]:
    """The LR range test on a copy of the model; every point sent as it comes."""
    from ..engine.lr_find import lr_find as sweep
    from ..launcher import Launcher

    control = host.new_run_control()
    trainer = Launcher(job.config, progress=host.loading).prepare()

    def progress(step: int, lr: float, smooth: float) -> None:
        host.send("lr_point", step, lr, smooth)
        if control.stop_requested:
            raise Stopped()

    try:
        return {"result": sweep(trainer.setup, trainer.parts, 1e-7, 10.0, job.steps, progress)}
    except Stopped:
        return {"result": None}
