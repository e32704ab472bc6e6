"""Ablation: what does each trick buy on this model?

The preset is trained as it is (the baseline), then once per trick with only that trick
switched (off if the preset has it on, on if off), every variant on the same seeds, seed by
seed (so a stopped ablation still has complete comparisons). Each difference is taken against
the baseline run of the same seed, then averaged over seeds, with its spread (the sample
standard deviation over seeds). All runs go into one fresh folder,
``<runs>/<stamp>-ablate-<preset>/``, each in ``<preset>.<variant>.s<seed>/``, with
``ablation.json`` updated after every run (the experiment runner, :mod:`.runner`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..config import Config, replace
from ..config.tricks import TRICK_NAMES
from ..display import headline
from ..errors import UserError
from ..runs.catalog import table
from ..runs.folder import _slug, unique_dir
from .plan import Experiment, PlannedRun
from .runner import OnResult, run_experiment
from .trials import Trials

METRICS = ("best_val_loss", "test_accuracy", "best_epoch", "wall_seconds")
FINISHED = ("completed", "early_stopped", "diverged")  # a stopped or failed run is left out of the table


@dataclass
class Variant:
    name: str  # "baseline", "-batchnorm" (switched off) or "+mixed_precision" (switched on)
    trick: str | None
    config: Config

    @property
    def label(self) -> str:
        """In its runs' names: "baseline", "no-batchnorm", "with-mixed_precision"."""
        return "baseline" if self.trick is None else f"{'no' if self.name[0] == '-' else 'with'}-{self.trick}"


@dataclass
class Ablation(Experiment):
    kind: ClassVar[str] = "ablation"
    index: ClassVar[str] = "ablation.json"

    preset: str
    seeds: list[int]
    variants: list[Variant]
    not_run: list[tuple[str, str]]  # (trick, why it cannot be switched here)
    folder: Path | None = None
    results: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)  # variant -> seed -> summary
    runs: list[PlannedRun] = field(default_factory=list)  # label: the variant's name

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "seeds": self.seeds,
            "variants": [{"name": v.name, "trick": v.trick} for v in self.variants],
            "not_run": [{"trick": t, "reason": r} for t, r in self.not_run],
            "results": {name: {str(seed): s for seed, s in runs.items()} for name, runs in self.results.items()},
        }

    # -- as an experiment (see .runner) ------------------------------------------------------

    @property
    def planned(self) -> list[PlannedRun]:
        return self.runs

    def folder_in(self, runs_dir: Path | str) -> Path:
        return unique_dir(runs_dir, f"ablate-{self.preset}", "the ablation folder")  # made fresh: never resumed

    def record(self, run: PlannedRun, summary: dict[str, Any], how: str) -> None:
        label, score = headline(summary, short=True)
        kept = {k: summary.get(k) for k in ("status", *METRICS, "run_dir")}
        self.results.setdefault(run.label, {})[run.seed] = {**kept, "test_score": score, "test_label": label}


def trick_name(given: str) -> str:
    """A trick as the user spelt it: ``lr_schedule``, or as train's switch spells it,
    ``lr-schedule`` or ``--lr-schedule``; an unknown one is one line with a "did you mean"."""
    import difflib

    name = given.strip().lstrip("-").replace("-", "_")
    if name in TRICK_NAMES:
        return name
    hint = difflib.get_close_matches(name, TRICK_NAMES, n=1)
    raise UserError(f"--tricks: unknown trick {given!r}{f'; did you mean {hint[0]!r}?' if hint else ''} "
                    f"(choose from {', '.join(TRICK_NAMES)}; train's switch spellings, e.g. lr-schedule, work too)")


def plan(config: Config, tricks: list[str] | None, seeds: int,
         check: Callable[[Config], str | None] | None = None) -> Ablation:
    """The variants to train. ``check`` returns why a config cannot run here (or None)."""
    if seeds < 1:
        raise UserError("--seeds must be at least 1")
    chosen = [trick_name(t) for t in tricks] if tricks else list(TRICK_NAMES)
    if check is not None and (why := check(config)):
        raise UserError(f"the preset itself cannot run here: {why}")
    variants = [Variant("baseline", None, config)]
    not_run = []
    for trick in chosen:
        on = getattr(config.tricks, trick).enabled
        try:
            toggled = replace(config, {f"tricks.{trick}.enabled": not on})
        except UserError as exc:
            not_run.append((trick, str(exc).splitlines()[0]))
            continue
        why = check(toggled) if check is not None else None
        if why:
            not_run.append((trick, why))
            continue
        variants.append(Variant(f"{'-' if on else '+'}{trick}", trick, toggled))
    seed_list = [config.train.seed + i for i in range(seeds)]
    runs = []
    for seed in seed_list:  # seed by seed: a stopped ablation still has whole comparisons
        for variant in variants:
            name = f"{config.name}.{variant.label}.s{seed}"
            runs.append(PlannedRun(variant.name, seed, replace(variant.config, {"train.seed": seed, "name": name}),
                                   _slug(name), {"variant": variant.name}))
    return Ablation(config.name, seed_list, variants, not_run, runs=runs)


def run(ablation: Ablation, runs_dir: Path | str, trials: Trials, on_result: OnResult | None = None,
        should_stop: Callable[[], bool] = lambda: False) -> Ablation:
    """Train every variant on every seed with ``trials`` (one after another in this process, or at
    once on Ray), each in ``<folder>/<its name>``. ``on_result(ablation, run, summary, how)`` as each
    ends (``run.label`` is the variant's name)."""
    run_experiment(ablation, runs_dir, trials, on_result, should_stop)
    return ablation


# -- the table -----------------------------------------------------------------------------


def _spread(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def _cell(values: list[float], spec: str, signed: bool) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    sign = "+" if signed else ""
    text = format(mean, f"{sign}{spec}")
    spread = _spread(values)
    return f"{text} ± {format(spread, spec)}" if spread is not None else text


COLUMNS = [  # (header, metric, format); the test column is the task's headline metric
    ("best val loss", "best_val_loss", ".4f"),
    ("test acc", "test_score", ".4f"),
    ("epochs to best", "best_epoch", ".1f"),
    ("time s", "wall_seconds", ".1f"),
]


def _scored(result: dict[str, Any]) -> dict[str, Any]:
    """A result with its headline test score (results saved before tasks had one: accuracy)."""
    return result if "test_score" in result else {**result, "test_score": result.get("test_accuracy")}


def test_header(ablation: Ablation) -> str:
    labels = {r.get("test_label") for runs in ablation.results.values() for r in runs.values()} - {None}
    return labels.pop() if len(labels) == 1 else "test acc"


def rows(ablation: Ablation) -> list[list[str]]:
    """The baseline's values, then per trick the paired differences to it, mean ± spread over seeds."""
    base = {seed: _scored(r) for seed, r in ablation.results.get("baseline", {}).items() if r.get("status") in FINISHED}
    out = []

    def finite(x):
        return isinstance(x, (int, float)) and math.isfinite(x)

    for variant in ablation.variants:
        runs = {seed: _scored(r) for seed, r in ablation.results.get(variant.name, {}).items()
                if r.get("status") in FINISHED}
        if not runs:
            out.append([variant.name, *["…"] * len(COLUMNS), "…"])
            continue
        cells = []
        for _, metric, spec in COLUMNS:
            if variant.trick is None:
                values = [r[metric] for r in runs.values() if finite(r.get(metric))]
            else:
                values = [runs[s][metric] - base[s][metric] for s in runs
                          if s in base and finite(runs[s].get(metric)) and finite(base[s].get(metric))]
            cells.append(_cell(values, spec, signed=variant.trick is not None))
        diverged = sum(1 for r in runs.values() if r.get("status") == "diverged")
        out.append([variant.name, *cells, f"{diverged}/{len(runs)}"])
    return out


def table_text(ablation: Ablation) -> str:
    header = ["variant", *[test_header(ablation) if m == "test_score" else h for h, m, _ in COLUMNS], "diverged"]
    seeds = ", ".join(map(str, ablation.seeds))
    lines = [
        f"ablation of {ablation.preset} on seeds {seeds}. baseline: the preset as it is. -trick / +trick: that trick",
        "alone switched off / on, as the difference to the baseline of the same seed. mean ± std over seeds.",
        "",
        table(header, rows(ablation), right=set(range(1, len(header)))),
    ]
    for trick, why in ablation.not_run:
        lines.append(f"not run: {trick}: {why}")
    if ablation.folder is not None:
        lines.append(f"runs in {ablation.folder}")
    return "\n".join(lines)
