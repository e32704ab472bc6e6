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
    "skipped": "Not measured here",
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


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


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
    # holds, contradicted, unclear, mixed, measured (the lab expects nothing) or skipped (its arms cannot run here)
    outcome: str
    lines: list[str] = field(default_factory=list)
    noise: str = ""  # how the noise was judged

    @property
    def headline(self) -> str:
        return HEADLINES[self.outcome]

    def text(self) -> str:
        return "\n".join([f"{self.headline}.", *(f"  {line}" for line in self.lines),
                          *([f"  ({self.noise})"] if self.noise else [])])

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
    return (f"clear: means apart by more than {min_effect:.0%} and by more than twice the standard error of their "
            f"difference{scale}")


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


def compare(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    stats = stats_by_arm(results, rule.metric)
    arms = [a.name for a in lab.arms if a.name in stats]
    what = describe(rule.metric)
    if rule.reference is not None:
        return _against_reference(rule, stats, arms, what)
    ranked = sorted((a for a in arms if stats[a].values),
                    key=lambda a: stats[a].mean if rule.goal == "min" else -stats[a].mean)
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
            lines.append(f"the lesson expects {rule.best} to be best: here it is "
                         f"{'clearly behind' if beaten else 'within the noise of'} {top}")
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
        relation = "same"
        if clear(s, ref, rule.min_effect, rule.metric in LOG_SCALE):
            relation = "better" if better(s.mean, ref.mean, rule.goal) else "worse"
        expected = _expected(rule, arm)
        phrase = {"better": f"better than {rule.reference}", "worse": f"worse than {rule.reference}",
                  "same": f"no clear difference from {rule.reference}"}[relation]
        if expected == "differ" and relation != "same":  # the lesson says nothing of which way is better
            phrase = f"{'higher' if s.mean > ref.mean else 'lower'} than {rule.reference}"
        line = f"{arm}: {s.text()}, {phrase}"
        if math.isfinite(s.mean) and math.isfinite(ref.mean):
            line += f" (Δ {s.mean - ref.mean:+.3g})"
        if expected is not None:
            judged.append(_fate(expected, relation))
            line += _expectation(judged[-1], expected)
        lines.append(line)
    return Verdict(_outcome(judged), lines, _noise_note([stats[a] for a in arms], rule.min_effect, rule.metric))


def paired(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    """Two measurements of the same runs (eval mode against train mode): for each metric of
    ``against``, its difference from ``metric`` run by run. Clear when the mean difference is
    more than ``min_effect`` of the values and more than twice its standard error (a paired
    test: what the seeds share cancels out)."""
    ref = Stat(_values(results, rule.metric))
    lines, judged = [f"{rule.metric} {ref.text()}"], []
    for metric in rule.against:
        pairs = [(r["metrics"][rule.metric], r["metrics"][metric]) for r in results
                 if all(_finite((r.get("metrics") or {}).get(k)) for k in (rule.metric, metric))]
        diff = Stat([b - a for a, b in pairs])
        size = max([abs(v) for p in pairs for v in p] + [1e-12])
        is_clear = bool(pairs) and abs(diff.mean) > rule.min_effect * size and (
            diff.sd is None and diff.n == 1 or diff.sd is not None and abs(diff.mean) > 2 * diff.sd / math.sqrt(diff.n))
        relation = ("better" if better(diff.mean, 0.0, rule.goal) else "worse") if is_clear else "same"
        line = (f"{metric} {Stat([b for _, b in pairs]).text()}: "
                f"{'higher' if diff.mean > 0 else 'lower'} by "
                f"{num(abs(diff.mean))}{f' ± {num(diff.sd)}' if diff.sd is not None else ''} on the same runs, "
                + {"better": "better", "worse": "worse", "same": "no clear difference"}[relation])
        expected = _expected(rule, metric)
        if expected is not None:
            judged.append(_fate(expected, relation))
            line += _expectation(judged[-1], expected)
        lines.append(line)
    noise = (f"clear: the mean of the run-by-run differences is above {rule.min_effect:.0%} of the values and "
             "twice its standard error")
    return Verdict(_outcome(judged), lines, noise)


def _values(results: list[dict[str, Any]], metric: str) -> list[float]:
    values = [(r.get("metrics") or {}).get(metric) for r in results]
    return [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]


def _expected(rule: Rule, name: str) -> str | None:
    """What the lesson expects of the arm (or metric) ``name``: better, worse, same or differ."""
    return next((k for k in ("better", "worse", "same", "differ") if name in getattr(rule, k)), None)


def _fate(expected: str, relation: str) -> str:
    """An expectation against what was measured: held, against, or unclear (inside the noise)."""
    if relation == expected or (expected == "differ" and relation != "same"):
        return "held"
    return "unclear" if relation == "same" else "against"


def _expectation(fate: str, expected: str) -> str:
    wanted = {"better": "better", "worse": "worse", "same": "no difference", "differ": "a difference"}[expected]
    return ", as the lesson expects" if fate == "held" else f"; the lesson expects {wanted}"


def highest(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    """Per arm, the highest scanned value at which a run reaches the target without diverging,
    on each seed; an arm is clearly higher than another when its lowest seed's value is above
    the other's highest seed's."""
    scan = lab.scan
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


RULES = {"compare": compare, "highest": highest, "paired": paired}


def judge(lab: Lab, results: list[dict[str, Any]], skipped: dict[str, str] | None = None) -> Verdict:
    """The lab's verdict: its one rule's, or with several, each under its own heading and the
    outcome of them all. ``skipped``: arms that could not run here, with the reason; a verdict
    about them says it was not measured."""
    skipped, parts = skipped or {}, []
    for rule in lab.rules:
        chosen = [r for r in results if not rule.arms or r["arm"] in rule.arms]
        scope = rule.arms or [a.name for a in lab.arms]
        missing = [a for a in scope if a in skipped]
        if missing and (len(scope) - len(missing) < (1 if rule.rule == "paired" else 2) or rule.reference in missing):
            parts.append(Verdict("skipped", [f"{a}: {skipped[a]}" for a in missing]))
            continue
        parts.append(RULES[rule.rule](lab, rule, chosen))
        parts[-1].lines += [f"not measured here: {a}: {skipped[a]}" for a in missing]
    if len(parts) == 1:
        return parts[0]
    outcomes = [p.outcome for p in parts if p.outcome not in ("measured", "skipped")]
    outcome = (outcomes[0] if len(set(outcomes)) == 1 else "mixed") if outcomes else parts[0].outcome
    lines = []
    for rule, part in zip(lab.rules, parts):
        about = f" ({', '.join(rule.arms)})" if rule.arms else ""
        lines += [f"{rule.metric}{about}: {part.headline[0].lower() + part.headline[1:]}",
                  *(f"  {line}" for line in part.lines)]
    noise = "; ".join(dict.fromkeys(p.noise for p in parts if p.noise))
    return Verdict(outcome, lines, noise)
