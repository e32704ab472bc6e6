"""Turning a lab's measured results into a verdict: never canned text, always the numbers.

Each arm's metric is summarised over its seeds (mean, standard deviation, how many). Two arms
differ clearly when their means are further apart than ``min_effect`` of their size and, with
two seeds or more on each side, more than twice the standard error of the difference (Welch);
with one seed there is no measured noise, and the verdict says so. A metric that can be
infinite (``epochs_to``: never reached) differs clearly only when the two arms' seeds do not
overlap. The verdict then says whether the lesson's expectation holds here, goes against it,
or cannot be told apart from the noise ("no clear difference here").
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from .measure import LOG_SCALE, describe
from .spec import Lab, Rule

HEADLINES = {
    "holds": "The lesson holds here",
    "contradicted": "Not here: this data goes against the lesson",
    "unclear": "No clear difference here",
    "mixed": "In part",
    "measured": "Measured",
}


@dataclass
class Stat:
    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def sd(self) -> float | None:
        finite = [v for v in self.values if math.isfinite(v)]
        return statistics.stdev(finite) if len(finite) >= 2 and len(finite) == self.n else None

    def text(self) -> str:
        if not self.values:
            return "no result"
        seeds = f"{self.n} seed{'s' if self.n > 1 else ''}"
        if self.sd is not None:
            return f"{num(self.mean)} ± {num(self.sd)} ({seeds})"
        if self.n > 1:
            return f"{', '.join(num(v) for v in self.values)} ({seeds})"
        return f"{num(self.mean)} ({seeds})"


def num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.3g}"


def better(a: float, b: float, goal: str) -> bool:
    return a < b if goal == "min" else a > b


def clear(a: Stat, b: Stat, min_effect: float, log: bool = False) -> bool:
    """Whether the two arms' results differ by more than the noise (see the module's text);
    ``log``: on a log scale, when every value is positive (losses, norms)."""
    if not a.values or not b.values:
        return False
    if log and all(v > 0 and math.isfinite(v) for v in a.values + b.values):
        if abs(a.mean - b.mean) <= min_effect * max(abs(a.mean), abs(b.mean)):
            return False
        return clear(Stat([math.log(v) for v in a.values]), Stat([math.log(v) for v in b.values]), 0.0)
    if not (math.isfinite(a.mean) and math.isfinite(b.mean)):
        return max(a.values) < min(b.values) or max(b.values) < min(a.values)
    delta = abs(a.mean - b.mean)
    if delta <= min_effect * max(abs(a.mean), abs(b.mean), 1e-12):
        return False
    if a.sd is not None and b.sd is not None:
        return delta > 2 * math.sqrt(a.sd ** 2 / a.n + b.sd ** 2 / b.n)
    return True


@dataclass
class Verdict:
    outcome: str  # holds, contradicted, unclear, mixed, or measured (the lab expects nothing)
    lines: list[str] = field(default_factory=list)
    noise: str = ""  # how the noise was judged

    @property
    def headline(self) -> str:
        return HEADLINES[self.outcome]

    def text(self) -> str:
        return "\n".join([f"{self.headline}.", *(f"  {line}" for line in self.lines), *([f"  ({self.noise})"] if self.noise else [])])

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "headline": self.headline}


def stats_by_arm(results: list[dict[str, Any]], metric: str) -> dict[str, Stat]:
    out: dict[str, Stat] = {}
    for r in results:
        got = (r.get("metrics") or {}).get(metric)
        stat = out.setdefault(r["arm"], Stat([]))
        if got is not None and not math.isnan(got):
            stat.values.append(got)
    return out


def _noise_note(stats: list[Stat], min_effect: float, metric: str) -> str:
    if any(s.n < 2 for s in stats):
        return f"one seed: the spread between seeds is not measured; differences under {min_effect:.0%} count as none"
    scale = " (on a log scale)" if metric in LOG_SCALE else ""
    return f"clear: means apart by more than {min_effect:.0%} and by more than twice the standard error of their difference{scale}"


def _outcome(judged: list[str]) -> str:
    """From each expectation's fate ("held", "against", "unclear") to the lab's outcome."""
    if not judged:
        return "measured"
    if all(j == "held" for j in judged):
        return "holds"
    if all(j == "unclear" for j in judged):
        return "unclear"
    if "held" not in judged and "against" in judged:
        return "contradicted"
    return "mixed"


def compare(lab: Lab, results: list[dict[str, Any]]) -> Verdict:
    rule = lab.rule
    stats = stats_by_arm(results, rule.metric)
    arms = [a.name for a in lab.arms if a.name in stats]
    what = describe(rule.metric)
    if rule.reference is not None:
        return _against_reference(rule, stats, arms, what)
    ranked = sorted((a for a in arms if stats[a].values), key=lambda a: stats[a].mean if rule.goal == "min" else -stats[a].mean)
    lines = [f"{what}, best first: " + "; ".join(f"{a} {stats[a].text()}" for a in ranked)]
    if len(ranked) < 2:
        return Verdict("unclear", lines + ["too few arms with results to compare"])
    top, second = ranked[0], ranked[1]
    log = rule.metric in LOG_SCALE
    judged = []
    if clear(stats[top], stats[second], rule.min_effect, log):
        lines.append(f"{top} is best, clearly ahead of {second}")
    else:
        lines.append(f"{top} and {second} are within the noise of each other")
    if rule.best is not None:
        if rule.best == top:
            judged.append("held" if clear(stats[top], stats[second], rule.min_effect, log) else "unclear")
        else:
            beaten = clear(stats[top], stats[rule.best], rule.min_effect, log) if rule.best in stats else False
            judged.append("against" if beaten else "unclear")
            lines.append(f"the lesson expects {rule.best} to be best: here it is {'clearly behind' if beaten else 'within the noise of'} {top}")
    elif not clear(stats[top], stats[second], rule.min_effect, log):
        judged.append("unclear")
    return Verdict(_outcome(judged), lines, _noise_note([stats[a] for a in ranked], rule.min_effect, rule.metric))


def _against_reference(rule: Rule, stats: dict[str, Stat], arms: list[str], what: str) -> Verdict:
    ref = stats.get(rule.reference, Stat([]))
    lines = [f"{what}: {rule.reference} {ref.text()}"]
    judged = []
    for arm in arms:
        if arm == rule.reference:
            continue
        s = stats[arm]
        relation = ("better" if better(s.mean, ref.mean, rule.goal) else "worse") if clear(s, ref, rule.min_effect, rule.metric in LOG_SCALE) else "same"
        expected = next((k for k in ("better", "worse", "same") if arm in getattr(rule, k)), None)
        phrase = {"better": f"better than {rule.reference}", "worse": f"worse than {rule.reference}",
                  "same": f"no clear difference from {rule.reference}"}[relation]
        line = f"{arm}: {s.text()}, {phrase}"
        if math.isfinite(s.mean) and math.isfinite(ref.mean):
            line += f" (Δ {s.mean - ref.mean:+.3g})"
        if expected is not None:
            fate = "held" if relation == expected else ("unclear" if relation == "same" else "against")
            judged.append(fate)
            line += {"held": ", as the lesson expects", "unclear": f"; the lesson expects {expected}",
                     "against": f"; the lesson expects {expected}"}[fate]
        lines.append(line)
    return Verdict(_outcome(judged), lines, _noise_note([stats[a] for a in arms], rule.min_effect, rule.metric))


def highest(lab: Lab, results: list[dict[str, Any]]) -> Verdict:
    """Per arm, the highest scanned value at which a run reaches the target without diverging,
    on each seed; an arm is clearly higher than another when its lowest seed's value is above
    the other's highest seed's."""
    rule, scan = lab.rule, lab.scan
    order = sorted(scan.values)
    op = ">=" if rule.goal == "max" else "<="
    reached: dict[str, dict[int, int]] = {}  # arm -> seed -> index of the highest value reached (-1: none)
    diverged: dict[str, Any] = {}
    for r in results:
        arm, seed, index = r["arm"], r["seed"], order.index(r["value"])
        got = (r.get("metrics") or {}).get(rule.metric)
        is_diverged = r.get("status") == "diverged"
        if is_diverged and (arm not in diverged or order.index(diverged[arm]) > index):
            diverged[arm] = r["value"]
        ok = got is not None and not is_diverged and (got >= rule.target if rule.goal == "max" else got <= rule.target)
        seeds = reached.setdefault(arm, {})
        seeds.setdefault(seed, -1)
        if ok:
            seeds[seed] = max(seeds[seed], index)
    lines = []
    span: dict[str, tuple[int, int]] = {}
    for arm in (a.name for a in lab.arms if a.name in reached):
        per_seed = [reached[arm][s] for s in sorted(reached[arm])]
        span[arm] = (min(per_seed), max(per_seed))
        each = ", ".join("none" if i < 0 else f"{order[i]:g}" for i in per_seed)
        top = "no value" if span[arm][1] < 0 else f"up to {scan.label} = {order[span[arm][1]]:g}"
        lines.append(f"{arm}: {rule.metric} {op} {rule.target:g} {top} (each seed: {each})"
                     + (f"; diverged from {scan.label} = {diverged[arm]:g}" if arm in diverged else "; never diverged"))
    judged = []
    if rule.best is not None and rule.best in span:
        others = [a for a in span if a != rule.best]
        lo, hi = span[rule.best]
        if others and all(lo > span[o][1] for o in others):
            judged.append("held")
        elif any(span[o][0] > hi for o in others):
            judged.append("against")
        else:
            judged.append("unclear")
    noise = "clear: every seed of one arm reaches a higher value than every seed of the other"
    return Verdict(_outcome(judged), lines, noise)


def judge(lab: Lab, results: list[dict[str, Any]]) -> Verdict:
    return highest(lab, results) if lab.rule.rule == "highest" else compare(lab, results)
