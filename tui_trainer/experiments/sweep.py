"""Sweeps: a grid over any settings, across seeds, each trial an ordinary run folder.

``tui-trainer sweep PRESET --grid train.lr=1e-3,3e-3 --grid tricks.dropout.p=0.1,0.3 --seeds 3``
trains every combination of the grid's values on every seed, one trial after another in this
process (or at once on Ray). The trials live in one folder, ``<runs>/sweep-<preset>-<digest>/``,
named after the sweep's settings: the same command finds the same folder, so running it again
skips the trials that are complete and resumes, from their ``last.pt``, the ones that were
stopped or killed (the experiment runner, :mod:`.runner`). ``sweep.json`` is rewritten
(atomically) after every trial. The table sorts the grid points by the task's headline test
metric, mean ± standard deviation over the seeds.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..config import Config, ConfigError, config_to_dict, replace
from ..config.overrides import parse_override
from ..display import headline
from ..errors import UserError
from ..runs.catalog import table
from .plan import Experiment, PlannedRun
from .plan import folder_for as plan_folder
from .runner import OnResult, run_experiment
from .trials import FINISHED, PRUNE, Trials

if TYPE_CHECKING:
    from .pruning import AshaPruner, Pruners

KEPT = ("status", "best_val_loss", "best_epoch", "wall_seconds", "run_dir", "headline", "headline_mode")


@dataclass
class Sweep(Experiment):
    kind: ClassVar[str] = "sweep"
    index: ClassVar[str] = "sweep.json"

    preset: str
    grid: dict[str, list[Any]]
    seeds: list[int]
    trials: list[PlannedRun]  # label: the grid point, e.g. "train.lr=0.001 tricks.dropout.p=0.3"
    folder: Path | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # trial key -> what its summary said
    running: dict[str, Any] | None = None  # while a process trains it: its pid and host (the app's Runs view reads it)
    stopped: bool = False  # asked to stop (Ctrl-C, or a STOP file: the app's x) before every trial was done
    base: Config | None = None  # the preset's settings, which name its folder
    pruner: AshaPruner | Pruners | None = None  # --scheduler asha, --prune doctor: stop trials early

    def to_json(self) -> dict[str, Any]:
        return {"preset": self.preset, "grid": self.grid, "seeds": self.seeds, "running": self.running,
                "trials": [{"point": t.label, "seed": t.seed, "name": t.name} for t in self.trials],
                "results": self.results}

    @property
    def in_progress(self) -> bool:
        """Whether a process is training it now (one on another host is taken at its word)."""
        if not self.running:
            return False
        if self.running.get("host") != socket.gethostname():
            return True
        try:
            os.kill(int(self.running["pid"]), 0)
        except (OSError, ValueError, KeyError):
            return False
        return True

    # -- as an experiment (see .runner) ------------------------------------------------------

    @property
    def planned(self) -> list[PlannedRun]:
        return self.trials

    def folder_in(self, runs_dir: Path | str) -> Path:
        return folder_for(runs_dir, self, self.base)

    def open(self, folder: Path) -> None:
        self.results = _read_results(folder)

    def is_done(self, run: PlannedRun) -> bool:
        return (self.results.get(run.key) or {}).get("status") in FINISHED

    def will_train(self, run: PlannedRun, path: Path) -> None:
        (path / PRUNE).unlink(missing_ok=True)  # a decision of a sweep that was stopped, not this one's
        if self.pruner is not None:
            self.pruner.add(path)

    def record(self, run: PlannedRun, summary: dict[str, Any], how: str) -> None:
        self.results[run.key] = {"point": run.label, "seed": run.seed, **{k: summary.get(k) for k in KEPT},
                                 "test_score": headline(summary)[1]}

    def begin(self) -> None:
        self.running = {"pid": os.getpid(), "host": socket.gethostname()}

    def end(self) -> None:
        self.running = None


def load(folder: Path) -> Sweep:
    """A sweep as its ``sweep.json`` describes it (no configs: for tables and the app)."""
    data = json.loads((Path(folder) / "sweep.json").read_text(encoding="utf-8"))
    trials = [PlannedRun(t["point"], t["seed"], None, t["name"]) for t in data.get("trials", [])]
    return Sweep(data["preset"], data["grid"], data["seeds"], trials, Path(folder), data.get("results") or {},
                 data.get("running"))


def latest(runs_dir: Path | str) -> Path | None:
    """The sweep folder under ``runs_dir`` whose ``sweep.json`` changed last."""
    found = [p.parent for p in Path(runs_dir).glob("sweep-*/sweep.json")]
    return max(found, key=lambda p: (p / "sweep.json").stat().st_mtime, default=None)


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["train.lr=0.001,0.003"]`` -> ``{"train.lr": [0.001, 0.003]}``; each value is read as
    ``--set`` reads one (a TOML literal, else a string)."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise UserError(f"--grid {item}: expected KEY=V1,V2,..., e.g. --grid train.lr=0.001,0.003")
        key = key.strip()
        if key in grid:
            raise UserError(f"--grid {item}: {key} is given twice; put all its values in one --grid")
        try:
            grid[key] = [parse_override(f"{key}={value}")[1] for value in _split(values)]
        except ConfigError as exc:
            raise UserError(f"--grid {item}: {exc}") from None
    return grid


def _split(values: str) -> list[str]:
    """Comma-separated values; a comma inside brackets belongs to a list value ([16, 32])."""
    out, depth, current = [], 0, ""
    for ch in values:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    out.append(current.strip())
    return [v for v in out if v]


def plan(config: Config, grid: dict[str, list[Any]], seeds: int) -> Sweep:
    """Every grid point on every seed, each config checked now: a bad key or value is one line."""
    if seeds < 1:
        raise UserError("--seeds must be at least 1")
    if not grid:
        raise UserError("give at least one --grid KEY=V1,V2 (e.g. --grid train.lr=0.001,0.003)")
    trials = []
    seed_list = [config.train.seed + i for i in range(seeds)]
    for index, values in enumerate(itertools.product(*grid.values())):
        settings = dict(zip(grid, values))
        try:
            point_config = replace(config, [(k, v, f"--grid {k}={v}") for k, v in settings.items()])
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        point = " ".join(f"{k}={v}" for k, v in settings.items())
        for seed in seed_list:
            trials.append(PlannedRun(point, seed,
                                     replace(point_config,
                                             {"train.seed": seed, "name": f"{config.name}.p{index}.s{seed}"}),
                                     f"p{index:03d}-s{seed}"))
    return Sweep(config.name, grid, seed_list, trials)


def folder_for(runs_dir: Path | str, sweep: Sweep, base: Config) -> Path:
    """``<runs>/sweep-<preset>-<digest>``: the digest of the preset's settings, the grid and the
    seeds, so the same sweep finds its folder again and a different one gets its own."""
    return plan_folder(runs_dir, "sweep", sweep.preset,
                       {"config": config_to_dict(base), "grid": sweep.grid, "seeds": sweep.seeds})


def run(sweep: Sweep, base: Config, runs_dir: Path | str, trials: Trials, on_result: OnResult | None = None,
        should_stop: Callable[[], bool] = lambda: False, pruner: AshaPruner | Pruners | None = None) -> Sweep:
    """Train the trials not yet complete with ``trials`` (in this process, or at once on Ray).
    ``on_result(sweep, trial, summary, how)``: ``how`` is "trained", "resumed" or "skipped" (already
    complete; ``summary`` None where ``sweep.json`` had it). A ``STOP`` file in the sweep folder
    (``x`` in the app) stops the sweep as ``should_stop`` does. ``pruner`` (``--scheduler asha``)
    stops trials that fall behind (see :mod:`tui_trainer.experiments.pruning`)."""
    sweep.base, sweep.pruner = base, pruner
    run_experiment(sweep, runs_dir, trials, on_result, should_stop, pruner.poll if pruner is not None else None)
    return sweep


def _read_results(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "sweep.json"
    if not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("results") or {})
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable ({exc}); move it away to start the sweep again") from None


# -- the table -----------------------------------------------------------------------------


def rows(sweep: Sweep) -> tuple[list[list[str]], str]:
    """One row per grid point, best first by the headline test metric's mean over its seeds (trials
    pruned by ASHA are counted, not scored: they stopped before the budget the others had)."""
    points: dict[str, list[dict[str, Any]]] = {}
    for trial in sweep.trials:
        points.setdefault(trial.label, [])
        result = sweep.results.get(trial.key)
        if result and result.get("status") in FINISHED:
            points[trial.label].append(result)
    mode = next((r.get("headline_mode") for rs in points.values() for r in rs if r.get("headline_mode")), "max")
    label = next((r.get("headline") for rs in points.values() for r in rs if r.get("headline")), "test_accuracy")

    def finite(values):
        return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]

    def cell(values, spec=".4f"):
        if not values:
            return "-"
        mean = statistics.fmean(values)
        return f"{mean:{spec}} ± {statistics.stdev(values):{spec}}" if len(values) > 1 else f"{mean:{spec}}"

    def scored(results):
        return [r for r in results if r.get("status") != "pruned"]

    def order(item):
        scores = finite(r.get("test_score") for r in scored(item[1]))
        if not scores:
            return math.inf
        mean = statistics.fmean(scores)
        return -mean if mode == "max" else mean

    out = []
    for point, results in sorted(points.items(), key=order):
        diverged = sum(r.get("status") == "diverged" for r in results)
        kept = scored(results)
        out.append([point, cell(finite(r.get("test_score") for r in kept)),
                    cell(finite(r.get("best_val_loss") for r in kept)), f"{len(results)}/{len(sweep.seeds)}",
                    f"{diverged}", f"{len(results) - len(kept)}"])
    return out, label.removeprefix("test_")


def table_text(sweep: Sweep) -> str:
    body, metric = rows(sweep)
    header = ["grid point", f"test {metric}", "best val loss", "seeds done", "diverged", "pruned"]
    lines = [f"sweep of {sweep.preset} on seeds {', '.join(map(str, sweep.seeds))}: mean ± std over seeds, best first",
             "", table(header, body, right={1, 2, 3, 4, 5})]
    if sweep.folder is not None:
        lines.append(f"runs in {sweep.folder}")
    return "\n".join(lines)
