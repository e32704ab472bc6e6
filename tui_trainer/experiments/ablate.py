"""Ablation: what does each trick buy on this model?

The preset is trained as it is (the baseline), then once per trick with only that trick
switched (off if the preset has it on, on if off), every variant on the same seeds. Each
difference is taken against the baseline run of the same seed, then averaged over seeds,
with its spread (the sample standard deviation over seeds). All runs go into one folder,
``<runs>/<stamp>-ablate-<preset>/``, with ``ablation.json`` updated after every run.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config import Config, replace
from ..config.tricks import TRICK_NAMES
from ..display import headline
from ..errors import UserError
from ..runs.catalog import table
from ..runs.folder import _slug, unique_dir
from .plan import save_index
from .trials import RayTrials

METRICS = ("best_val_loss", "test_accuracy", "best_epoch", "wall_seconds")
FINISHED = ("completed", "early_stopped", "diverged")  # a stopped or failed run is left out of the table


@dataclass
class Variant:
    name: str  # "baseline", "-batchnorm" (switched off) or "+mixed_precision" (switched on)
    trick: str | None
    config: Config


@dataclass
class Ablation:
    preset: str
    seeds: list[int]
    variants: list[Variant]
    not_run: list[tuple[str, str]]  # (trick, why it cannot be switched here)
    folder: Path | None = None
    results: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)  # variant -> seed -> summary

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "seeds": self.seeds,
            "variants": [{"name": v.name, "trick": v.trick} for v in self.variants],
            "not_run": [{"trick": t, "reason": r} for t, r in self.not_run],
            "results": {name: {str(seed): s for seed, s in runs.items()} for name, runs in self.results.items()},
        }


def plan(config: Config, tricks: list[str] | None, seeds: int,
         check: Callable[[Config], str | None] | None = None) -> Ablation:
    """The variants to train. ``check`` returns why a config cannot run here (or None)."""
    if seeds < 1:
        raise UserError("--seeds must be at least 1")
    chosen = list(tricks) if tricks else list(TRICK_NAMES)
    unknown = [t for t in chosen if t not in TRICK_NAMES]
    if unknown:
        raise UserError(f"--tricks: unknown trick {', '.join(unknown)}; choose from {', '.join(TRICK_NAMES)}")
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
    base_seed = config.train.seed
    return Ablation(config.name, [base_seed + i for i in range(seeds)], variants, not_run)


def run(ablation: Ablation, runs_dir: Path | str, train: Callable[[Config, Path], dict[str, Any]] | RayTrials,
        on_result: Callable[[Ablation, Variant, int, dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False) -> Ablation:
    """Train every variant on every seed (seed by seed, so a stopped ablation still has
    complete comparisons). ``train(config, folder)`` trains one run and returns its summary;
    or ``train`` is a :class:`~tui_trainer.experiments.trials.RayTrials`, which trains them all at once,
    each in ``<folder>/<its name>``."""
    folder = unique_dir(runs_dir, f"ablate-{ablation.preset}", "the ablation folder")
    ablation.folder = folder
    save(ablation)
    jobs = []
    for seed in ablation.seeds:
        for variant in ablation.variants:
            label = "baseline"
            if variant.trick is not None:
                label = f"{'no' if variant.name[0] == '-' else 'with'}-{variant.trick}"
            jobs.append(((variant, seed),
                         replace(variant.config, {"train.seed": seed, "name": f"{ablation.preset}.{label}.s{seed}"})))

    def record(key: tuple[Variant, int], summary: dict[str, Any], _how: str = "trained") -> None:
        variant, seed = key
        label, score = headline(summary, short=True)
        ablation.results.setdefault(variant.name,
                                    {})[seed] = {**{k: summary.get(k) for k in ("status", *METRICS, "run_dir")},
                                                               "test_score": score, "test_label": label}
        save(ablation)
        if on_result is not None:
            on_result(ablation, variant, seed, summary)

    if isinstance(train, RayTrials):
        train.check_visible(folder)
        train.map([(key, config, folder / _slug(config.name)) for key, config in jobs], folder, record, should_stop)
        return ablation
    for key, config in jobs:
        if should_stop():
            break
        record(key, train(config, folder))
    return ablation


def save(ablation: Ablation) -> None:
    save_index(ablation.folder, "ablation.json", ablation.to_json())


def local_trainer(control: Callable[[], Any]) -> Callable[[Config, Path], dict[str, Any]]:
    """``train(config, folder)`` for :func:`run`: trains in this process, every variant on the
    same data tensors (the launcher's cache), each run in its own folder; ``control()`` gives
    each run's Control."""
    from ..launcher import launch

    def train(config: Config, folder: Path) -> dict[str, Any]:
        return launch(config, control(), runs_dir=folder).summary

    return train


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
