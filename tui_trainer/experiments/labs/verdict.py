"""Turning a lab's measured results into a verdict: never canned text, always the numbers.

The rules: ``compare`` (every arm against a reference, or the arms ranked), ``paired`` (two
measurements of the same runs), ``highest`` (the highest scanned value that reaches a target)
and ``forward`` (:mod:`.forward`: greedy forward selection over a factorial lab). Each says
whether the lesson's expectation holds here, goes against it, or cannot be told apart from the
noise ("no clear difference here"); :mod:`.stats` decides what counts as a difference and what
as the same.
"""

from __future__ import annotations

import math
from typing import Any

from .forward import forward
from .measure import LOG_SCALE, describe
from .spec import Lab, Rule
from .stats import (
    Stat,
    Verdict,
    better,
    clear,
    finite,
    noise_note,
    num,
    outcome,
    relation,
    share,
    stats_by_arm,
)


def compare(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    stats = stats_by_arm(results, rule.metric, rule.goal)
    arms = [a.name for a in lab.arms if a.name in stats]
    what = describe(rule.metric)
    if rule.reference is not None:
        scope = [a.name for a in lab.arms if not rule.arms or a.name in rule.arms]
        return _against_reference(rule, {a: stats.get(a, Stat([])) for a in scope}, scope, what)
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
    return Verdict(outcome(judged), lines, noise_note([stats[a] for a in ranked], rule))


def _against_reference(rule: Rule, stats: dict[str, Stat], arms: list[str], what: str) -> Verdict:
    ref = stats.get(rule.reference, Stat([]))
    lines = [f"{what}: {rule.reference} {ref.text()}"]
    if not ref.values:
        return Verdict("skipped", lines + [f"not measured here: {rule.reference}, the reference, has no results"])
    judged = []
    for arm in arms:
        if arm == rule.reference:
            continue
        s, expected = stats[arm], _expected(rule, arm)
        found = relation(s, ref, rule)
        phrase = {"better": f"better than {rule.reference}", "worse": f"worse than {rule.reference}",
                  "same": f"the same as {rule.reference} within ±{share(rule.margin)}",
                  "unclear": f"no clear difference from {rule.reference}",
                  "unmeasured": "not measured here (no results)"}[found]
        if expected == "differ" and found in ("better", "worse"):  # the lesson says nothing of which way is better
            phrase = f"{'higher' if s.mean > ref.mean else 'lower'} than {rule.reference}"
        line = f"{arm}: {s.text()}, {phrase}" if s.values else f"{arm}: {phrase}"
        if s.values and math.isfinite(s.mean) and math.isfinite(ref.mean):
            line += f" (Δ {s.mean - ref.mean:+.3g})"
        if expected is not None:
            judged.append(_fate(expected, found))
            line += _expectation(judged[-1], expected)
        lines.append(line)
    return Verdict(outcome(judged), lines, noise_note([stats[a] for a in arms], rule))


def paired(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    """Two measurements of the same runs (eval mode against train mode): for each metric of
    ``against``, its difference from ``metric`` run by run. Clear when the mean difference is
    more than ``min_effect`` of the values and more than twice its standard error (a paired
    test: what the seeds share cancels out); the same when the mean difference, widened by
    twice its standard error, is within ``margin`` of the values."""
    ref = Stat(_values(results, rule.metric))
    lines, judged = [f"{rule.metric} {ref.text()}"], []
    for metric in rule.against:
        pairs = [(r["metrics"][rule.metric], r["metrics"][metric]) for r in results
                 if all(finite((r.get("metrics") or {}).get(k)) for k in (rule.metric, metric))]
        diff = Stat([b - a for a, b in pairs])
        found = _paired_relation(diff, max([abs(v) for p in pairs for v in p] + [1e-12]), rule)
        line = (f"{metric}: not measured here (no results)" if not pairs else
                f"{metric} {Stat([b for _, b in pairs]).text()}: "
                f"{'higher' if diff.mean > 0 else 'lower'} by "
                f"{num(abs(diff.mean))}{f' ± {num(diff.sd)}' if diff.sd is not None else ''} on the same runs, "
                + {"better": "better", "worse": "worse", "same": f"the same within ±{share(rule.margin)}",
                   "unclear": "no clear difference"}[found])
        expected = _expected(rule, metric)
        if expected is not None:
            judged.append(_fate(expected, found))
            line += _expectation(judged[-1], expected)
        lines.append(line)
    noise = (f"clear: the mean of the run-by-run differences is above {share(rule.min_effect)} of the values and "
             f"twice its standard error; the same: that mean, widened by twice its standard error, within "
             f"±{share(rule.margin)}")
    return Verdict(outcome(judged), lines, noise)


def _paired_relation(diff: Stat, size: float, rule: Rule) -> str:
    if not diff.values:
        return "unmeasured"
    error = 2 * diff.sd / math.sqrt(diff.n) if diff.sd is not None else None
    if abs(diff.mean) > rule.min_effect * size and (error is None and diff.n == 1 or
                                                     error is not None and abs(diff.mean) > error):
        return "better" if better(diff.mean, 0.0, rule.goal) else "worse"
    return "same" if error is not None and abs(diff.mean) + error <= rule.margin * size else "unclear"


def _values(results: list[dict[str, Any]], metric: str) -> list[float]:
    values = [(r.get("metrics") or {}).get(metric) for r in results]
    return [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]


def _expected(rule: Rule, name: str) -> str | None:
    """What the lesson expects of the arm (or metric) ``name``: better, worse, same or differ."""
    return next((k for k in ("better", "worse", "same", "differ") if name in getattr(rule, k)), None)


def _fate(expected: str, found: str) -> str:
    """An expectation against what was measured: held, against, unclear (neither a clear
    difference nor one shown small) or unmeasured. An expected difference that the data show
    to be within the margin goes against the lesson; so does a clear one where none was expected."""
    if found in ("unclear", "unmeasured"):
        return found
    if found == expected or (expected == "differ" and found in ("better", "worse")):
        return "held"
    return "against"


def _expectation(fate: str, expected: str) -> str:
    wanted = {"better": "better", "worse": "worse", "same": "no difference", "differ": "a difference"}[expected]
    if fate == "unmeasured":
        return ""
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
    return Verdict(outcome(judged), lines, noise)


RULES = {"compare": compare, "highest": highest, "paired": paired, "forward": forward}


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
    overall = (outcomes[0] if len(set(outcomes)) == 1 else "mixed") if outcomes else parts[0].outcome
    lines = []
    for rule, part in zip(lab.rules, parts):
        about = f" ({', '.join(rule.arms)})" if rule.arms else ""
        lines += [f"{rule.metric}{about}: {part.headline[0].lower() + part.headline[1:]}",
                  *(f"  {line}" for line in part.lines)]
    noise = "; ".join(dict.fromkeys(p.noise for p in parts if p.noise))
    return Verdict(overall, lines, noise)
