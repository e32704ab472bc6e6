"""Turning a lab's measured results into a verdict: never canned text, always the numbers.

The rules: ``compare`` (every arm against a reference, or the arms ranked), ``paired`` (two
measurements of the same runs), ``highest`` (the highest scanned value that reaches a target)
and ``forward`` (:mod:`.forward`: greedy forward selection over a factorial lab). Each says
whether the lesson's expectation holds here, goes against it, or cannot be told apart from the
noise ("no clear difference here"); :mod:`.stats` decides what counts as a difference and what
as the same. Each also says when its data cannot carry a verdict: no results (not measured
here), one seed (indicative only), every run failed (diverged, or never reached a target).
"""

from __future__ import annotations

import math
from typing import Any

from .forward import forward
from .measure import LOG_SCALE, describe, goal_of
from .spec import Lab, Rule
from .stats import (
    Stat,
    Verdict,
    apart,
    better,
    clear,
    fate,
    finite,
    noise_note,
    num,
    outcome,
    relation,
    seeded,
    share,
    stats_by_arm,
)


NO_RESULTS = "not measured here (no results)"


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
    if not ranked:
        return Verdict("skipped", [f"{what}: not measured here (no results)"])
    if len(ranked) < 2:
        return Verdict("partial", lines + [f"only {ranked[0]} has results: nothing to rank it against"])
    top, second = stats[ranked[0]], stats[ranked[1]]
    if top.failed and second.failed:
        return Verdict("failed", lines + [f"every run of {ranked[0]} and {ranked[1]} failed: no best to name"],
                       noise_note([top, second], rule))
    return _ranked(rule, stats, ranked, lines)


def _ranked(rule: Rule, stats: dict[str, Stat], ranked: list[str], lines: list[str]) -> Verdict:
    """The arms ranked: is the best clearly ahead, and is it the one the lesson expects?"""
    top, second, log = ranked[0], ranked[1], rule.metric in LOG_SCALE
    thin = not seeded(stats[top], stats[second])
    ahead = clear(stats[top], stats[second], rule.min_effect, log)
    if ahead:
        lines.append(f"{top} is best, clearly ahead of {second}")
    elif thin and apart(stats[top], stats[second], rule.min_effect):
        lines.append(f"{top} is ahead of {second} by more than {share(rule.min_effect)} (one seed: indicative)")
    else:
        lines.append(f"{top} and {second} are within the noise of each other")
    judged = []
    if rule.best is not None and rule.best == top:
        judged.append("indicative" if thin else "held" if ahead else "unclear")
    elif rule.best is not None:
        behind = bool(rule.best in stats and stats[rule.best].values)  # measured, somewhere behind the top
        beaten = behind and clear(stats[top], stats[rule.best], rule.min_effect, log)
        judged.append("unmeasured" if not behind else "indicative" if thin else "against" if beaten else "unclear")
        lines.append(f"the lesson expects {rule.best} to be best: here it is "
                     + ("not measured" if not behind else "clearly behind" if beaten else "within the noise of")
                     + ("" if not behind else f" {top}"))
    elif not ahead:
        judged.append("indicative" if thin else "unclear")
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
        found, thin = relation(s, ref, rule), not seeded(s, ref)
        phrase = {"better": f"better than {rule.reference}", "worse": f"worse than {rule.reference}",
                  "same": f"the same as {rule.reference} within ±{share(rule.margin)}",
                  "unclear": f"no clear difference from {rule.reference}",
                  "unmeasured": NO_RESULTS,
                  "failed": f"failed on every seed, as {rule.reference} did: nothing to compare"}[found]
        if expected == "differ" and found in ("better", "worse"):  # the lesson says nothing of which way is better
            phrase = f"{'higher' if s.mean > ref.mean else 'lower'} than {rule.reference}"
        if thin and found in ("better", "worse"):
            phrase += " (one seed: a direction only)"
        line = f"{arm}: {s.text()}, {phrase}" if s.values else f"{arm}: {phrase}"
        if s.values and math.isfinite(s.mean) and math.isfinite(ref.mean):
            line += f" (Δ {s.mean - ref.mean:+.3g})"
        if expected is not None:
            judged.append(fate(expected, found, thin))
            line += _expectation(judged[-1], expected, found)
        lines.append(line)
    return Verdict(outcome(judged), lines, noise_note([stats[a] for a in arms], rule))


def paired(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    """Two measurements of the same runs (eval mode against train mode): for each metric of
    ``against``, its difference from ``metric`` run by run. Clear when, over two runs or more, the
    mean difference is more than ``min_effect`` of the values and more than twice its standard
    error (a paired test: what the seeds share cancels out); the same when the mean difference,
    widened by twice its standard error, is within ``margin`` of the values. One run: a direction."""
    ref = Stat(_values(results, rule.metric))
    lines, judged = [f"{rule.metric} {ref.text()}"], []
    every_run_diverged = bool(results) and all(r.get("status") == "diverged" for r in results)
    for metric in rule.against:
        pairs = [(r["metrics"][rule.metric], r["metrics"][metric]) for r in results
                 if all(finite((r.get("metrics") or {}).get(k)) for k in (rule.metric, metric))]
        diff = Stat([b - a for a, b in pairs])
        found = _paired_relation(diff, max([abs(v) for p in pairs for v in p] + [1e-12]), rule)
        if not pairs:
            found = "failed" if every_run_diverged else "unmeasured"
            line = f"{metric}: " + ("every run diverged: nothing to compare" if every_run_diverged
                                    else "not measured here (no results)")
        else:
            line = (f"{metric} {Stat([b for _, b in pairs]).text()}: {'higher' if diff.mean > 0 else 'lower'} by "
                    f"{num(abs(diff.mean))}{f' ± {num(diff.sd)}' if diff.sd is not None else ''} on the same "
                    f"run{'s' if diff.n > 1 else ' (one run: a direction only)'}, "
                    + {"better": "better", "worse": "worse", "same": f"the same within ±{share(rule.margin)}",
                       "unclear": "no clear difference"}[found])
        expected = _expected(rule, metric)
        if expected is not None:
            judged.append(fate(expected, found, thin=0 < diff.n < 2))
            line += _expectation(judged[-1], expected, found)
        lines.append(line)
    noise = (f"clear: over two runs or more, the mean of the run-by-run differences is above "
             f"{share(rule.min_effect)} of the values and twice its standard error; the same: that mean, widened by "
             f"twice its standard error, within ±{share(rule.margin)}")
    return Verdict(outcome(judged), lines, noise)


def _paired_relation(diff: Stat, size: float, rule: Rule) -> str:
    """better or worse (with one run: a direction), same, unclear, or unmeasured."""
    if not diff.values:
        return "unmeasured"
    error = 2 * diff.sd / math.sqrt(diff.n) if diff.sd is not None else None
    if abs(diff.mean) > rule.min_effect * size and (diff.n == 1 or error is not None and abs(diff.mean) > error):
        return "better" if better(diff.mean, 0.0, rule.goal) else "worse"
    return "same" if error is not None and abs(diff.mean) + error <= rule.margin * size else "unclear"


def _values(results: list[dict[str, Any]], metric: str) -> list[float]:
    values = [(r.get("metrics") or {}).get(metric) for r in results]
    return [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]


def _expected(rule: Rule, name: str) -> str | None:
    """What the lesson expects of the arm (or metric) ``name``: better, worse, same or differ."""
    return next((k for k in ("better", "worse", "same", "differ") if name in getattr(rule, k)), None)


def _expectation(judged: str, expected: str, found: str) -> str:
    wanted = {"better": "better", "worse": "worse", "same": "no difference", "differ": "a difference"}[expected]
    if judged in ("unmeasured", "failed"):
        return ""
    if judged == "indicative":
        along = found == expected or (expected == "differ" and found in ("better", "worse"))
        return ", the way the lesson expects (indicative)" if along else f"; the lesson expects {wanted} (indicative)"
    return ", as the lesson expects" if judged == "held" else f"; the lesson expects {wanted}"


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
    noise = "clear: over two seeds or more, every seed of one arm reaches a higher value than every seed of the other"
    if not results:
        return Verdict("skipped", [f"{rule.metric}: not measured here (no results)"])
    if all(hi < 0 for _, hi in span.values()):
        why = "every run diverged" if all(r.get("status") == "diverged" for r in results) else "no run reached it"
        return Verdict("failed", lines + [f"{why}: no value to compare"], noise)
    return Verdict(outcome(_highest_fate(rule, span, reached)), lines, noise)


def _highest_fate(rule: Rule, span: dict[str, tuple[int, int]], reached: dict[str, dict[int, int]]) -> list[str]:
    """The expected arm's highest value reached against the others': every seed above every seed."""
    if rule.best is None:
        return []
    others = [a for a in span if a != rule.best]
    if rule.best not in span or not others:
        return ["unmeasured"]
    if any(len(reached[a]) < 2 for a in (rule.best, *others)):
        return ["indicative"]  # one seed: no spread to clear
    lo, hi = span[rule.best]
    if all(lo > span[o][1] for o in others):
        return ["held"]
    return ["against" if any(span[o][0] > hi for o in others) else "unclear"]


RULES = {"compare": compare, "highest": highest, "paired": paired, "forward": forward}


def judge(lab: Lab, results: list[dict[str, Any]], skipped: dict[str, str] | None = None) -> Verdict:
    """The lab's verdict: its one rule's, or with several, each under its own heading and the
    outcome of them all. ``skipped``: arms that could not run here, with the reason; a verdict
    about them says it was not measured."""
    skipped, parts = skipped or {}, []
    learned, unlearned = split_learned(lab, results)
    for rule in lab.rules:
        chosen = [r for r in learned if not rule.arms or r["arm"] in rule.arms]
        scope = rule.arms or [a.name for a in lab.arms]
        missing = [a for a in scope if a in skipped]
        if missing and (len(scope) - len(missing) < (1 if rule.rule == "paired" else 2) or rule.reference in missing):
            parts.append(Verdict("skipped", [f"{a}: {skipped[a]}" for a in missing]))
            continue
        parts.append(RULES[rule.rule](lab, rule, chosen))
        parts[-1].lines = [_not_learned(line, unlearned) for line in parts[-1].lines]
        parts[-1].lines += [f"not measured here: {a}: {skipped[a]}" for a in missing]
        parts[-1].lines += [why for arm, why in unlearned.items() if arm in scope]
    if len(parts) == 1:
        return parts[0]
    lines = []
    notes = {p.noise for p in parts if p.noise}
    for rule, part in zip(lab.rules, parts):
        about = f" ({', '.join(rule.arms)})" if rule.arms else ""
        lines += [f"{rule.metric}{about}: {part.headline[0].lower() + part.headline[1:]}",
                  *(f"  {line}" for line in part.lines)]
        if len(notes) > 1 and part.noise:  # each claim its own rule of noise; one rule: said once, below
            lines.append(f"  ({part.noise})")
    return Verdict(combined([p.outcome for p in parts]), lines, notes.pop() if len(notes) == 1 else "")


def split_learned(lab: Lab, results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The runs the verdict may judge, and for each arm with runs that did not learn, a line that
    names them. A run learned when each metric of the lab's ``[learned]`` that it measured reached
    its bar; gradients or speeds of a model left at chance say nothing about training it. A run
    that diverged is judged as diverged, as ever."""
    def learned(r: dict[str, Any]) -> bool:
        metrics = r.get("metrics") or {}
        return r.get("status") == "diverged" or all(
            not finite(metrics.get(m)) or (metrics[m] >= bar if goal_of(m) == "max" else metrics[m] <= bar)
            for m, bar in lab.learned.items())

    kept = [r for r in results if learned(r)]
    lines: dict[str, str] = {}
    for arm in dict.fromkeys(r["arm"] for r in results):
        mine = [r for r in results if r["arm"] == arm]
        left = [r for r in mine if not learned(r)]
        if left:
            shown = "; ".join(f"{m} {Stat([(r.get('metrics') or {})[m] for r in left]).text()}, the bar "
                              f"{'≥' if goal_of(m) == 'max' else '≤'} {bar:g}" for m, bar in lab.learned.items()
                              if all(finite((r.get("metrics") or {}).get(m)) for r in left))
            seeds = f"seed{'s' if len(left) > 1 else ''} " + ", ".join(str(r.get("seed")) for r in left)
            lines[arm] = (f"{arm} did not learn on {len(left)} of {len(mine)} seeds ({seeds}: {shown}): "
                          + ("not judged" if len(left) == len(mine) else "judged on the seeds that learned"))
    return kept, lines


def _not_learned(line: str, unlearned: dict[str, str]) -> str:
    """An arm left with no runs because none learned is not judged, rather than not measured."""
    arm, _, rest = line.partition(": ")
    return f"{arm}: not judged (it did not learn)" if rest == NO_RESULTS and arm in unlearned else line


def combined(outcomes: list[str]) -> str:
    """The outcome of several claims: one left unmeasured, or measured on one seed, says so."""
    judged = [o for o in outcomes if o != "measured"]
    if not judged:
        return "measured"
    if all(o == "skipped" for o in judged):
        return "skipped"
    for weakest in ("indicative", "partial"):
        if weakest in judged or (weakest == "partial" and "skipped" in judged):
            return weakest
    return judged[0] if len(set(judged)) == 1 else "mixed"
