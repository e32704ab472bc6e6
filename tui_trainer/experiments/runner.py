"""One runner for every experiment: a sweep, an ablation, a lab.

An experiment kind describes its runs and how to summarise them (:class:`~.plan.Experiment`);
:func:`run_experiment` does the rest, the same for all of them: the folder, the JSON index
rewritten after every run, the runs complete already (skipped, also one that finished but was
killed before the index heard of it), the stopped ones (resumed from their ``last.pt`` by the
trials), the caller's stop and the ``STOP`` file (the app's ``x`` for an experiment another
process runs), and where the runs train: the :mod:`.trials` given, in this process, in a pool
of processes, or on Ray, all with the same interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from .plan import Experiment, PlannedRun
from .trials import Trials, clear_stop, finished_summary, stop_file

#: ``on_result(experiment, run, summary, how)``: each run as it ends (``summary`` None: skipped, done before)
OnResult = Callable[[Any, PlannedRun, "dict[str, Any] | None", str], None]


def run_experiment(experiment: Experiment, runs_dir: Path | str, trials: Trials, on_result: OnResult | None = None,
                   should_stop: Callable[[], bool] = lambda: False,
                   poll: Callable[[], None] | None = None) -> Experiment:
    """Train the runs of ``experiment`` that are not done yet with ``trials``, recording each as it
    ends; stop when ``should_stop()`` turns true or a ``STOP`` file appears in its folder (the runs
    in progress save at a step boundary and resume next time). ``poll`` is called about 5 times a
    second while they train (a scheduler reading their progress)."""
    folder = _open(experiment, runs_dir)
    by_key = {run.key: run for run in experiment.planned}

    def record(key: str, summary: dict[str, Any], how: str) -> None:
        run = by_key[key]
        experiment.record(run, summary, how)
        experiment.save()
        if on_result is not None:
            on_result(experiment, run, summary, how)

    def stop() -> bool:
        experiment.stopped = experiment.stopped or should_stop() or stop_file(folder).exists()
        return experiment.stopped

    clear_stop(folder)
    experiment.begin()
    experiment.save()
    try:
        todo = []
        for run in experiment.planned:
            if experiment.is_done(run):
                if on_result is not None:
                    on_result(experiment, run, None, "skipped")
            elif (finished := finished_summary(folder / run.name)) is not None:  # killed before the index heard
                record(run.key, finished, "skipped")
            else:
                experiment.will_train(run, folder / run.name)
                todo.append(run)
        trials.check_visible(folder)
        trials.map([(run.key, run.config, folder / run.name) for run in todo], folder, record, stop, poll)
    finally:
        clear_stop(folder)
        experiment.end()
        experiment.save()
    return experiment


def _open(experiment: Experiment, runs_dir: Path | str) -> Path:
    folder = experiment.folder_in(runs_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the {experiment.kind} folder {folder}: {exc.strerror or exc}; "
                        "choose another with --runs-dir") from None
    experiment.folder = folder
    experiment.open(folder)
    return folder
