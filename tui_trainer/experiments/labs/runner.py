"""Running a lab: its runs in one folder, ``<runs>/lab-<name>-<digest>/``, with ``lab.json``.

The folder is named after what the lab runs (the lab file's text, the seeds, the extra
settings), so the same command again skips the runs that are complete and resumes the
stopped ones, and a finished lab prints its verdict again at once. ``lab.json`` is rewritten
(atomically) after every run: the lab's question and lesson, each run's arm, scanned value,
seed, status and measured metrics, and at the end the verdict.

The runs train in worker processes, as many as the cores allow, each keeping its data in
memory between runs (:class:`~tui_trainer.experiments.trials.ProcessPoolTrials`), or on Ray;
the experiment runner (:mod:`..runner`) records, resumes and stops them.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from ...config import replace
from ...runs.catalog import table
from ...runs.folder import _slug
from ..plan import Experiment, PlannedRun, threads_each
from ..plan import folder_for as plan_folder
from ..runner import OnResult, run_experiment
from ..trials import FINISHED, Trials
from .measure import measure
from .spec import Arm, Lab, LabError, Rule, Scan
from .stats import Stat, Verdict, num, stats_by_arm
from .verdict import judge

LAB_JSON = "lab.json"


@dataclass
class LabSession(Experiment):
    kind: ClassVar[str] = "lab"
    index: ClassVar[str] = LAB_JSON

    lab: Lab
    seeds: list[int]
    runs: list[PlannedRun]  # fields: the arm, and the scanned setting's value (None without a scan)
    extra: dict[str, Any] = field(default_factory=dict)  # settings for every run, from the command line
    skipped: dict[str, str] = field(default_factory=dict)  # arms that cannot train here (no GPU for fp16, ...) and why
    folder: Path | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    verdict: Verdict | None = None
    stopped: bool = False
    seconds: float = 0.0
    planned_count: int | None = None  # a session read back from lab.json has no runs to plan, only their count
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # run key -> its metrics, as each run ends
    _earlier: float = field(default=0.0, init=False, repr=False)  # seconds of the earlier sessions of this lab
    _started: float = field(default=0.0, init=False, repr=False)

    @property
    def complete(self) -> bool:
        return len(self.results) == (len(self.runs) if self.planned_count is None else self.planned_count)

    def to_json(self) -> dict[str, Any]:
        lab = self.lab
        return {"lab": lab.name, "question": lab.question, "lesson": lab.lesson, "base": lab.base, "seeds": self.seeds,
                "arms": [a.name for a in lab.arms],
                "scan": {"key": lab.scan.key, "values": lab.scan.values} if lab.scan else None,
                "metric": lab.rule.metric, "metrics": lab.metrics, "columns": list(lab.columns), "extra": self.extra,
                "runs_planned": len(self.runs), "skipped": self.skipped, "results": self.results,
                "verdict": self.verdict.to_json() if self.verdict else None, "stopped": self.stopped,
                "seconds": round(self.seconds, 1)}

    # -- as an experiment (see ..runner) -----------------------------------------------------

    @property
    def planned(self) -> list[PlannedRun]:
        return self.runs

    def folder_in(self, runs_dir: Path | str) -> Path:
        return folder_for(runs_dir, self)

    def open(self, folder: Path) -> None:
        previous, keys = _read(folder), {r.key for r in self.runs}
        self.results = [r for r in previous.get("results", []) if r.get("key") in keys]
        self._earlier = self.seconds = previous.get("seconds", 0.0)

    def is_done(self, run: PlannedRun) -> bool:
        return any(r["key"] == run.key for r in self.results)

    def begin(self) -> None:
        self._started = time.monotonic()

    def record(self, run: PlannedRun, summary: dict[str, Any], how: str) -> None:
        path = self.folder / run.name
        metrics = measure(path, names(self.lab)) if (path / "summary.json").exists() else {}
        self.measured[run.key] = metrics
        if summary.get("status") in FINISHED:  # a stopped run is not a result: the same command again resumes it
            self.results.append({"key": run.key, **run.fields, "seed": run.seed, "name": run.name,
                                 "status": summary.get("status"), "metrics": metrics})
        self.seconds = self._earlier + time.monotonic() - self._started

    def end(self) -> None:
        """The verdict, once every run is done."""
        self.stopped = not self.complete
        order = {r.key: i for i, r in enumerate(self.runs)}
        self.results.sort(key=lambda r: order[r["key"]])
        self.verdict = judge(self.lab, self.results, self.skipped) if self.complete else None


def shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def plan(lab: Lab, seeds: int | None = None, extra: dict[str, Any] | None = None, jobs: int = 1) -> LabSession:
    """Every run of the lab: each arm, at each scanned value, on each seed. With ``jobs`` > 1
    each run gets its share of the cores (``train.threads``) unless ``extra`` sets it. An arm
    that cannot train here (fp16 without a GPU) is left out, with the reason in ``skipped``."""
    from ...engine.precision import why_not_here

    extra = dict(extra or {})
    if (threads := threads_each(jobs, extra.get("train.threads"))) is not None:
        extra["train.threads"] = threads
    first = lab.config(lab.arms[0], lab.scan.values[0] if lab.scan else None, extra=extra).train.seed
    seed_list = [first + i for i in range(seeds or lab.seeds)]
    skipped = {arm.name: why.split(";")[0] for arm in lab.arms
               if (why := why_not_here(lab.config(arm, lab.scan.values[0] if lab.scan else None, extra=extra)))}
    runs = []
    for seed in seed_list:  # seed by seed: a stopped lab still has whole comparisons
        for arm in (a for a in lab.arms if a.name not in skipped):
            for value in (lab.scan.values if lab.scan else [None]):
                label = "" if value is None else f"-{lab.scan.label}{shown(value)}"
                name = _slug(f"{arm.name}{label}")
                # the seeds of an arm share it
                config = replace(lab.config(arm, value, seed, extra), {"name": f"{lab.name}.{name}"})
                name = f"{name}-s{seed}"
                label = arm.name if value is None else f"{arm.name} {shown(value)}"
                runs.append(PlannedRun(label, seed, config, name, {"arm": arm.name, "value": value}))
    return LabSession(lab, seed_list, runs, extra, skipped)


def folder_for(runs_dir: Path | str, session: LabSession) -> Path:
    extra = {k: v for k, v in session.extra.items() if k != "train.threads"}  # not what the runs learn
    return plan_folder(runs_dir, "lab", session.lab.name,
                       {"lab": session.lab.path.read_text(encoding="utf-8"), "seeds": session.seeds, "extra": extra})


def names(lab: Lab) -> list[str]:
    return list(dict.fromkeys([*lab.metrics, "diverged", "wall_seconds", "epoch_seconds", "epochs_run"]))


def run(session: LabSession, runs_dir: Path | str, trials: Trials, on_result: OnResult | None = None,
        should_stop: Callable[[], bool] = lambda: False) -> LabSession:
    """Train every run not complete yet with ``trials`` (a pool of processes, or Ray), measuring
    each as it ends (``session.measured``); then the verdict, when every run is done.
    ``on_result(session, run, summary, how)`` as each ends."""
    run_experiment(session, runs_dir, trials, on_result, should_stop)
    return session


def read_session(folder: Path | str) -> LabSession:
    """A lab folder as ``lab.json`` recorded it: its runs' results and verdict, for ``lab show``
    and the app, whatever has become of the lab file since."""
    folder = Path(folder)
    data = _read(folder)
    if not data.get("lab"):
        raise LabError(f"{folder}: not a lab folder (no readable {LAB_JSON}); tui-trainer "
                       "runs list shows the runs folder")
    scan = data.get("scan")
    metrics = data.get("metrics") or [data["metric"], *data.get("columns", [])]
    lab = Lab(data["lab"], folder / LAB_JSON, data.get("question", ""), data.get("lesson", ""), data.get("base", ""),
              len(data.get("seeds", [])) or 1, {}, tuple(Arm(a, {}) for a in data.get("arms", [])),
              (Rule("compare", metrics[0], "min"),),
              Scan(scan["key"], scan["values"], scan["key"].split(".")[-1]) if scan else None, tuple(metrics))
    verdict = data.get("verdict")
    judged = Verdict(verdict["outcome"], verdict.get("lines", []), verdict.get("noise", "")) if verdict else None
    session = LabSession(lab, data.get("seeds", []), [], data.get("extra", {}), data.get("skipped", {}), folder,
                         data.get("results", []), judged, bool(data.get("stopped")), data.get("seconds", 0.0))
    session.planned_count = data.get("runs_planned", len(session.results))
    return session


def lab_folders(runs_dir: Path | str, name: str | None = None) -> list[Path]:
    """The lab folders under ``runs_dir`` (of the lab ``name``), newest ``lab.json`` first."""
    found = [p.parent for p in Path(runs_dir).glob(f"lab-{name + '-' if name else ''}*/{LAB_JSON}")]
    return sorted(found, key=lambda p: (p / LAB_JSON).stat().st_mtime, reverse=True)


def _read(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / LAB_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def table_text(session: LabSession) -> str:
    """One row per arm (and scanned value): the verdict's metric and the lab's columns, mean ±
    standard deviation over the seeds, and how many runs diverged."""
    lab = session.lab
    metrics = lab.metrics
    header = ["arm", *([lab.scan.label] if lab.scan else []), *metrics, "diverged"]
    rows = []
    for arm in lab.arms:
        for value in (lab.scan.values if lab.scan else [None]):
            chosen = [r for r in session.results if r["arm"] == arm.name and r.get("value") == value]
            if not chosen:
                continue
            cells = [arm.name, *([shown(value)] if lab.scan else [])]
            for m in metrics:
                stat = stats_by_arm(chosen, m)[arm.name]
                cells.append(_cell(stat))
            cells.append(f"{sum(r['status'] == 'diverged' for r in chosen)}/{len(chosen)}")
            rows.append(cells)
    skipped = "".join(f"\n{arm}: skipped here: {why}" for arm, why in session.skipped.items())
    return table(header, rows, right=set(range(1, len(header)))) + skipped


def _cell(stat: Stat) -> str:
    if not stat.values:
        return "-"
    if stat.sd is not None:
        return f"{num(stat.mean)} ± {num(stat.sd)}"
    if len(stat.values) > 1 and not all(math.isfinite(v) for v in stat.values):
        return "/".join(num(v) for v in stat.values)
    return num(stat.mean)


def estimate(lab: Lab, runs_dir: Path | str, seeds: int | None = None,
             extra: dict[str, Any] | None = None) -> float | None:
    """Seconds the lab should take on this machine, measured, never typed: from the newest folder
    of this lab under ``runs_dir`` with results, each arm's time per run for the epochs each run
    is now planned for (following ``extra``: ``--set``, ``--epochs``), times the seeds, over how
    many ran at once then (their wall times' sum over the lab's). A run's time is its wall time
    with its epochs after the first replaced by as many as are planned now, each at its median
    epoch time, so a short run's warm-up is not multiplied by the epochs of a long one (runs
    measured before epochs were timed: wall time per epoch). Arms skipped then (no GPU for fp16)
    are left out. That assumes the lab keeps the cores as busy as it did, whatever ``--jobs`` is.
    None when it never ran here."""
    for folder in lab_folders(runs_dir, lab.name):
        data = _read(folder)
        timed = [r for r in data.get("results", []) if _finite_positive((r.get("metrics") or {}).get("wall_seconds"))]
        if data.get("lab") == lab.name and timed and _finite_positive(data.get("seconds")):
            break
    else:
        return None
    arms = {a.name: a for a in lab.arms}
    timings: dict[str, list[Callable[[int], float]]] = {}
    for r in (r for r in timed if r["arm"] in arms):
        then = lab.config(arms[r["arm"]], r.get("value"), extra=data.get("extra") or {}).train.epochs
        timings.setdefault(r["arm"], []).append(_run_time(r["metrics"], then))
    if not timings:
        return None
    every = [t for values in timings.values() for t in values]
    at_once = max(1.0, sum(r["metrics"]["wall_seconds"] for r in timed) / data["seconds"])
    runnable = [arm for arm in lab.arms if arm.name not in (data.get("skipped") or {})]  # skipped there: here too
    total = 0.0
    for arm in runnable:
        for value in (lab.scan.values if lab.scan else [None]):
            epochs = lab.config(arm, value, extra=extra).train.epochs
            total += statistics.fmean(t(epochs) for t in timings.get(arm.name, every))
    return total * (seeds or lab.seeds) / at_once


def _run_time(metrics: dict[str, Any], planned_then: int) -> Callable[[int], float]:
    """How long one measured run would take for ``epochs``."""
    wall, per_epoch, ran = metrics["wall_seconds"], metrics.get("epoch_seconds"), metrics.get("epochs_run")
    if _finite_positive(per_epoch) and _finite_positive(ran):
        first = max(0.0, wall - per_epoch * (ran - 1))  # the first epoch, warm-up and all
        return lambda epochs: first + per_epoch * max(0, epochs - 1)
    return lambda epochs: wall / planned_then * epochs


def _finite_positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0
