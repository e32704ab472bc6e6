"""Lab files: one of the lesson's questions as a small experiment, declared in TOML.

A lab names a base preset and the settings every run shares, the arms it compares (each a
few settings), optionally a scan of one setting that every arm runs over, the seeds, and the
rule that turns the measured results into a verdict::

    question = "Why does BatchNorm allow higher learning rates?"
    lesson = "BatchNorm keeps each layer's inputs at a steady scale, so ..."   # the claim under test
    base = "cnn-mnist1d"
    seeds = 2
    columns = ["best_val_loss", "diverged"]   # more numbers for the table

    [set]                            # every run
    "train.epochs" = 5

    [[arm]]
    name = "BatchNorm"
    set = { "tricks.batchnorm.enabled" = true }

    [scan]                           # optional: every arm at each of these values
    key = "train.lr"
    values = [0.001, 0.01, 0.1]

    [learned]                        # optional: a run counts only if it learned, each metric it has at
    best_val_accuracy = 0.5          #   this bar or past it; the rest are named and not judged

    [verdict]
    rule = "compare"                 # or "highest": the highest scanned value that reaches `target`
    metric = "best_val_loss"         # see labs.measure.METRICS
    reference = "none"               # optional: every arm against this one; else the best against the rest
    better = ["dropout"]             # what the lesson expects: arms better than the reference,
    worse = []                       # worse, or (without a reference) `best`, the arm expected to win
    same = []                        # the same: shown within `margin` (default 0.02) of the values, not
    margin = 0.02                    #   merely not different (see labs.verdict)

A factorial lab gives ``[factors]`` instead of (or besides) arms: each a name and its
settings; the lab runs every combination of them, as arms named ``none``, ``batchnorm``,
``batchnorm + dropout``, ... (at most six factors: 64 arms). ``rule = "forward"`` judges it
by greedy forward selection (:mod:`.forward`)::

    [factors]
    batchnorm = { "tricks.batchnorm.enabled" = true }
    dropout = { "tricks.dropout.enabled" = true }

A lab with several claims gives ``[[verdict]]`` tables instead, each judged on its own, and
each may name the ``arms`` it is about. ``rule = "paired"`` compares two measurements of the
same runs instead of two arms: ``metric`` is the reference, ``against`` the others, and
``better``/``worse``/``same``/``differ`` name metrics of ``against`` (``differ``: the lesson
expects a difference without saying which way).

Labs are found, first match wins, in ``./labs``, the user's lab folder
(``~/.config/tui-trainer/labs``) and the labs bundled beside the presets.
"""

from __future__ import annotations

import difflib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import Config, ConfigError, replace
from ...config.loader import read_toml
from ...config.presets import BUNDLED_DIR, load_preset, user_preset_dir
from ...errors import UserError
from .measure import goal_of, metric_name_problem

BUNDLED_LABS = BUNDLED_DIR / "labs"
RULES = ("compare", "highest", "paired", "forward")
TOP_KEYS = {"question", "lesson", "base", "seeds", "columns", "set", "arm", "factors", "scan", "verdict", "learned"}
RULES_NEEDING_FACTORS = ("forward",)
MAX_FACTORS = 6
VERDICT_KEYS = {"rule", "metric", "goal", "reference", "better", "worse", "same", "differ", "best", "target",
                "min_effect", "margin", "at_least", "arms", "against"}


class LabError(UserError):
    """A lab that cannot be found or does not make sense; the message names what to fix."""


@dataclass(frozen=True)
class Arm:
    name: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Scan:
    key: str
    values: list[Any]
    label: str  # the setting's last part, as the table heads it


@dataclass(frozen=True)
class Rule:
    rule: str
    metric: str
    goal: str  # "min" or "max": which way is better
    reference: str | None = None
    better: tuple[str, ...] = ()
    worse: tuple[str, ...] = ()
    same: tuple[str, ...] = ()
    differ: tuple[str, ...] = ()  # better or worse: the lesson expects a difference, not which way
    best: str | None = None
    target: float | None = None  # highest: the value the metric must reach
    min_effect: float = 0.02  # a difference smaller than this share of the values is no difference
    arms: tuple[str, ...] = ()  # the arms it judges (empty: all)
    against: tuple[str, ...] = ()  # paired: the metrics compared with ``metric`` on the same runs
    margin: float = 0.02  # `same` holds when the difference, widened by its noise, is within this share of the values
    at_least: int = 3  # forward: the tricks the lesson expects the pipeline found to combine

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric, *self.against)


@dataclass(frozen=True)
class Lab:
    name: str
    path: Path
    question: str
    lesson: str
    base: str
    seeds: int
    settings: dict[str, Any]
    arms: tuple[Arm, ...]
    rules: tuple[Rule, ...]
    scan: Scan | None = None
    columns: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()  # a factorial lab's factors, in order; its arms are their combinations
    learned: dict[str, float] = field(default_factory=dict)  # metric -> the bar a run must reach to be judged

    @property
    def rule(self) -> Rule:
        """The first verdict's rule: its metric heads the table."""
        return self.rules[0]

    @property
    def metrics(self) -> list[str]:
        """Every metric the verdicts and the table need, in order."""
        return list(dict.fromkeys([m for r in self.rules for m in r.metrics] + list(self.columns) + list(self.learned)))

    def config(self, arm: Arm, value: Any = None, seed: int | None = None,
               extra: dict[str, Any] | None = None) -> Config:
        """The config of one run: the base preset, the lab's settings, the arm's, the scanned value."""
        base, _ = load_preset(self.base)
        overrides = {**self.settings, **(extra or {}), **arm.overrides}
        if self.scan is not None:
            overrides[self.scan.key] = value
        if seed is not None:
            overrides["train.seed"] = seed
        return replace(base, overrides)

    def run_count(self, seeds: int | None = None) -> int:
        return len(self.arms) * (len(self.scan.values) if self.scan else 1) * (seeds or self.seeds)


def user_lab_dir() -> Path:
    return user_preset_dir().parent / "labs"


def search_dirs() -> list[tuple[str, Path]]:
    return [("local", Path.cwd() / "labs"), ("user", user_lab_dir()), ("bundled", BUNDLED_LABS)]


def lab_paths() -> dict[str, Path]:
    """Every lab found, by name (the first in search order), sorted by name."""
    found: dict[str, Path] = {}
    for _origin, folder in search_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_lab(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or os.sep in name_or_path:
        if not path.is_file():
            raise LabError(f"{name_or_path}: no such lab file")
        return path
    labs = lab_paths()
    if name_or_path in labs:
        return labs[name_or_path]
    hint = difflib.get_close_matches(name_or_path, list(labs), n=1)
    raise LabError(f"unknown lab {name_or_path!r}{f'; did you mean {hint[0]!r}?' if hint else ''} "
                   f"(tui-trainer lab list shows them: {', '.join(labs) or 'none'})")


def load_lab(name_or_path: str | Path, check_configs: bool = True) -> Lab:
    """The lab of that name or file, checked: its keys, its arms and, with ``check_configs``,
    every run's settings (as ``--set`` checks them)."""
    path = find_lab(str(name_or_path))
    where = str(path)
    try:
        raw = read_toml(path)
    except ConfigError as exc:
        raise LabError(str(exc)) from None
    problems = [f"unknown key {k!r} (known: {', '.join(sorted(TOP_KEYS))})" for k in raw if k not in TOP_KEYS]
    for key in ("question", "lesson", "base"):
        if not isinstance(raw.get(key), str) or not raw.get(key, "").strip():
            problems.append(f"{key}: a non-empty string is required")
    factors = _factors(raw.get("factors", {}), problems)
    arms = [*factor_arms(factors), *_arms(raw.get("arm", []), problems)]
    if not arms:
        problems.append("[[arm]]: at least one arm (or [factors]) is required, each with a name and a set table")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        problems.append(f"arm names must differ: {names}")
    scan = _scan(raw["scan"], problems) if "scan" in raw else None
    seeds = raw.get("seeds", 2)
    if not isinstance(seeds, int) or seeds < 1:
        problems.append("seeds: a whole number of at least 1")
    settings = raw.get("set", {})
    if not isinstance(settings, dict):
        problems.append("[set]: a table of settings")
        settings = {}
    columns = raw.get("columns", [])
    if not isinstance(columns, list):
        problems.append("columns: a list of metric names")
        columns = []
    problems += [p for c in columns if (p := metric_name_problem(str(c)))]
    learned = _learned(raw.get("learned", {}), problems)
    verdicts = raw.get("verdict")
    rules = tuple(_rule(v, names, scan, problems, bool(factors))
                  for v in (verdicts if isinstance(verdicts, list) and verdicts else [verdicts]))
    if problems:
        raise LabError(f"{where}: " + "; ".join(problems))
    lab = Lab(path.stem, path, raw["question"].strip(), " ".join(raw["lesson"].split()), raw["base"], seeds,
              dict(settings), tuple(arms), rules, scan, tuple(map(str, columns)), tuple(factors), learned)
    if check_configs:
        try:
            for arm in arms:
                for value in (scan.values if scan else [None]):
                    lab.config(arm, value)
        except ConfigError as exc:
            raise LabError(f"{where}: {exc}") from None
    return lab


def _arms(raw: Any, problems: list[str]) -> list[Arm]:
    """The ``[[arm]]`` tables, each a name and the settings it changes."""
    if not isinstance(raw, list):
        problems.append("[[arm]]: a list of arms, each with a name and a set table")
        return []
    arms = []
    for i, a in enumerate(raw):
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not isinstance(a.get("set", {}), dict):
            problems.append(f"arm {i + 1}: needs name = \"...\" and set = {{ ... }}")
            continue
        problems += [f"arm {a['name']!r}: unknown key {k!r} (an arm has name and set)"
                     for k in a if k not in ("name", "set")]
        arms.append(Arm(a["name"], dict(a.get("set", {}))))
    return arms


def _learned(raw: Any, problems: list[str]) -> dict[str, float]:
    """``[learned]``: metric = the bar a run must reach (at least, or at most where lower is better)."""
    if not isinstance(raw, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                            for v in raw.values()):
        problems.append("[learned]: each entry is metric = a number (e.g. best_val_accuracy = 0.5)")
        return {}
    problems += [f"[learned]: {p}" for m in raw if (p := metric_name_problem(m))]
    return {str(k): float(v) for k, v in raw.items()}


def _scan(raw: Any, problems: list[str]) -> Scan | None:
    """``[scan]``: one setting and the values every arm runs at."""
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not isinstance(raw.get("values"), list) \
            or not raw["values"]:
        problems.append("[scan]: needs key = \"section.setting\" and a non-empty values list")
        return None
    return Scan(raw["key"], list(raw["values"]), raw["key"].split(".")[-1])


def _factors(raw: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) and v for v in raw.values()):
        problems.append("[factors]: each factor is name = { \"section.setting\" = value, ... }")
        return {}
    if len(raw) > MAX_FACTORS:
        problems.append(f"[factors]: at most {MAX_FACTORS} ({2 ** MAX_FACTORS} combinations); this lab has {len(raw)}")
    if "none" in raw or any("+" in name for name in raw):
        problems.append("[factors]: a factor's name cannot be 'none' or contain '+' (they name the combinations)")
    return {str(k): dict(v) for k, v in raw.items()}


def factor_arm(chosen: tuple[str, ...] | list[str], factors: tuple[str, ...] | list[str]) -> str:
    """The name of the arm that combines ``chosen`` factors: in the lab's order, joined by ' + '."""
    return " + ".join(f for f in factors if f in chosen) or "none"


def factor_arms(factors: dict[str, dict[str, Any]]) -> list[Arm]:
    """Every combination of the factors, fewest first: none, each alone, each pair, ... all."""
    names = list(factors)
    return [Arm(factor_arm(combo, names), {k: v for f in combo for k, v in factors[f].items()})
            for size in range(len(names) + 1) for combo in itertools.combinations(names, size)] if names else []


def _rule(raw: Any, names: list[str], scan: Scan | None, problems: list[str], factorial: bool = False) -> Rule:
    if not isinstance(raw, dict):
        problems.append("[verdict]: required, with rule and metric")
        return Rule("compare", "best_val_loss", "min")
    known = ", ".join(sorted(VERDICT_KEYS))
    problems += [f"verdict: unknown key {k!r} (known: {known})" for k in raw if k not in VERDICT_KEYS]
    rule, metric = raw.get("rule", "compare"), str(raw.get("metric", ""))
    if rule not in RULES:
        problems.append(f"verdict.rule: {rule!r}; choose {' or '.join(RULES)}")
    if (p := metric_name_problem(metric)) is not None:
        problems.append(f"verdict.metric: {p}")
    goal = raw.get("goal") or goal_of(metric)
    if goal not in ("min", "max"):
        problems.append(f"verdict.goal: {goal!r}; choose min or max")
    listed = {k: tuple(raw.get(k, ())) for k in ("better", "worse", "same", "differ")}
    against, subset = tuple(map(str, raw.get("against", ()))), tuple(raw.get("arms", ()))
    problems += [f"verdict.against: {p}" for m in against if (p := metric_name_problem(m))]
    if rule == "paired":
        if not against:
            problems.append("verdict.rule = \"paired\" compares metric with the metrics in "
                            "against = [...]; give at least one")
        problems += [f"verdict: {m!r} is not in against ({', '.join(against)})"
                     for v in listed.values() for m in v if m not in against]
    named = [*subset, *filter(None, [raw.get("reference"), raw.get("best")]),
             *([] if rule == "paired" else [a for v in listed.values() for a in v])]
    for arm in named:
        if arm not in names:
            problems.append(f"verdict: no arm named {arm!r} (arms: {', '.join(names)})")
    if rule == "highest" and (scan is None or not isinstance(raw.get("target"), (int, float))
                              or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scan.values)):
        problems.append("verdict.rule = \"highest\" needs a [scan] of numbers and a numeric target")
    if rule in RULES_NEEDING_FACTORS and not factorial:
        problems.append(f"verdict.rule = \"{rule}\" walks the combinations of [factors]; give the lab [factors]")
    if rule == "compare" and raw.get("reference") is None and any(listed.values()):
        problems.append("verdict: better, worse, same and differ are relative to a reference arm; set reference")
    return Rule(rule, metric, goal, raw.get("reference"), listed["better"], listed["worse"], listed["same"],
                listed["differ"], raw.get("best"), raw.get("target"), float(raw.get("min_effect", 0.02)), subset,
                against, float(raw.get("margin", 0.02)),
                int(raw.get("at_least", 3)))


__all__ = ["Arm", "Lab", "LabError", "Rule", "Scan", "factor_arm", "find_lab", "lab_paths", "load_lab"]
