"""Greedy forward selection over a factorial lab: which tricks, added one at a time, make a pipeline.

A lab with ``[factors]`` runs every combination of them (``none``, ``batchnorm``,
``batchnorm + dropout``, ...). The ``forward`` rule walks that lattice as a practitioner would
tune a pipeline: start from no tricks; at each step add the trick whose combination has the
best mean over the seeds, if it is clearly better (:func:`.stats.clear`) than the pipeline so
far; stop when no trick is. Because every combination ran, each step's choice is read from its
own measured arms, not guessed, and the pipeline found can be set against no tricks and
against all of them.

The lesson's expectation (``at_least``, default 3): the pipeline found combines at least that
many tricks and is clearly better than none.
"""

from __future__ import annotations

import math
from typing import Any

from .measure import describe
from .spec import Lab, Rule, factor_arm
from .stats import Stat, Verdict, num, outcome, relation, seeded, share, stats_by_arm


def forward(lab: Lab, rule: Rule, results: list[dict[str, Any]]) -> Verdict:
    stats = stats_by_arm(results, rule.metric, rule.goal)

    def stat(chosen: tuple[str, ...]) -> Stat:
        return stats.get(factor_arm(chosen, lab.factors), Stat([]))

    chosen: tuple[str, ...] = ()
    none = stat(chosen)
    lines = [f"{describe(rule.metric)}: no tricks {none.text()}"]
    if not none.values:
        return Verdict("skipped", lines + ["not measured here: the arm without tricks has no results"])
    if all(s.failed for s in stats.values() if s.values):
        return Verdict("failed", lines + ["every run of every arm diverged: no pipeline to find"])
    while len(chosen) < len(lab.factors):
        options = [(f, stat((*chosen, f))) for f in lab.factors if f not in chosen]
        options = [(f, s) for f, s in options if s.values]
        if not options:
            lines.append(f"step {len(chosen) + 1}: not measured here (no results beyond "
                         f"{factor_arm(chosen, lab.factors)})")
            break
        options.sort(key=lambda o: o[1].mean if rule.goal == "min" else -o[1].mean)
        (trick, top), here = options[0], stat(chosen)
        runner_up = f"; next: + {options[1][0]} {num(options[1][1].mean)}" if len(options) > 1 else ""
        if relation(top, here, rule) == "better":  # clearly, by the noise rule
            chosen = (*chosen, trick)
            lines.append(f"step {len(chosen)}: + {trick}: {top.text()}, clearly better than {num(here.mean)}"
                         f"{runner_up}")
        else:
            lines.append(f"step {len(chosen) + 1}: no trick clearly improves on it; the best, + {trick}, gives "
                         f"{top.text()}{runner_up}")
            break
    found, every = stat(chosen), stat(tuple(lab.factors))
    name = factor_arm(chosen, lab.factors)
    lines.append(f"pipeline found: {name}, {len(chosen)} trick{'s' if len(chosen) != 1 else ''}: {found.text()}")
    judged = []
    if chosen:
        gain = relation(found, none, rule)
        lines.append(f"against no tricks: {_delta(found, none)} ({_word(gain)})")
        judged.append("held" if gain == "better" else "unclear" if gain == "unclear" else "against")
    else:
        judged.append("against")
    if every.values and len(chosen) < len(lab.factors):
        lines.append(f"against all {len(lab.factors)} tricks ({every.text()}): {_delta(found, every)} "
                     f"({_word(relation(found, every, rule))})")
    held = len(chosen) >= rule.at_least
    lines.append(f"{len(chosen)} trick{'s' if len(chosen) != 1 else ''} earned a place; the lesson expects "
                 f"{rule.at_least} or more{', and so it is' if held else ''}")
    judged.append("held" if held else "against")
    if any(not seeded(s, none) for s in stats.values() if s.values):
        judged = ["indicative"]  # one seed: the steps follow directions, not measured differences
    noise = (f"a trick is added when its arm's mean is better and clearly so: apart by more than "
             f"{share(rule.min_effect)} and, with two seeds or more, by more than twice the standard error of the "
             "difference (with one seed, by the gap alone: indicative)")
    return Verdict(outcome(judged), lines, noise)


def _delta(a: Stat, b: Stat) -> str:
    return f"Δ {a.mean - b.mean:+.3g}" if math.isfinite(a.mean) and math.isfinite(b.mean) else "no finite Δ"


def _word(found: str) -> str:
    return {"better": "better", "worse": "worse", "same": "the same", "unclear": "no clear difference",
            "unmeasured": "not measured", "failed": "both failed"}[found]
