"""The numbers under every verdict: each arm's results over its seeds, when two arms differ
clearly, when the data show them the same, and the verdict's outcomes and headlines.

Two arms differ clearly when, with two seeds or more on each side, their means are further apart
than ``min_effect`` of their size and more than twice the standard error of the difference
(Welch). A metric that can be infinite (``epochs_to``: never reached) differs clearly only when
the two arms' seeds do not overlap.

Absence of evidence is not evidence of sameness: two arms are *the same* only when the data
show it, when the difference of their means, widened by twice its standard error, lies within
``margin`` of the values (an equivalence test; it needs two seeds or more on each side). A
difference neither clear nor shown small is "no clear difference", which neither confirms nor
contradicts the lesson, and an arm without results is "not measured here".

Thin or failed data say so, never more: with one seed on a side the noise is not measured, so a
gap over ``min_effect`` is only a direction and the verdict is *indicative*; two arms whose every
run failed (diverged, or never reached an ``epochs_to`` target) *both failed*, which shows
nothing, least of all that they are the same; and a NaN from a run that did not diverge is named.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from .measure import LOG_SCALE
from .spec import Rule

HEADLINES = {
    "holds": "The lesson holds here",
    "contradicted": "Not here: this data goes against the lesson",
    "unclear": "No clear difference here",
    "mixed": "In part",
    "partial": "In part: not all measured here",
    "indicative": "Indicative only: one seed, its spread not measured",
    "failed": "Every run compared failed here: nothing to judge",
    "measured": "Measured",
    "skipped": "Not measured here",
}


@dataclass
class Stat:
    values: list[float]
    diverged: int = 0  # runs that diverged before the metric could be read: counted as the worst value, ±inf
    unread: list[str] = field(default_factory=list)  # runs that did not diverge but gave no number (NaN): which

    @property
    def failed(self) -> bool:
        """Every run failed: diverged, or never reached an ``epochs_to`` target (nothing finite to compare)."""
        return bool(self.values) and all(math.isinf(v) for v in self.values)

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
        unread = f"; {', '.join(self.unread)} gave NaN without diverging" if self.unread else ""
        return self._text() + unread

    def _text(self) -> str:
        if not self.values:
            return "no result"
        if self.diverged:
            kept = [v for v in self.values if not math.isinf(v)]
            if not kept:
                return f"diverged on every seed ({self.n} seed{'s' if self.n > 1 else ''})"
            return f"{Stat(kept).text()}; {self.diverged} more diverged"
        seeds = f"{self.n} seed{'s' if self.n > 1 else ''}"
        if self.sd is not None:
            return f"{num(self.mean)} ± {num(self.sd)} ({seeds})"
        if self.n > 1:
            return f"{', '.join(num(v) for v in self.values)} ({seeds})"
        return f"{num(self.mean)} ({seeds})"


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.3g}"


def share(x: float) -> str:
    """A share as a percentage: 2%, 0.5%."""
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def better(a: float, b: float, goal: str) -> bool:
    return a < b if goal == "min" else a > b


def seeded(a: Stat, b: Stat) -> bool:
    """Two seeds or more on each side: the spread between seeds is measured."""
    return a.n >= 2 and b.n >= 2


def apart(a: Stat, b: Stat, min_effect: float) -> bool:
    """The means are further apart than ``min_effect`` of their size (a value never reached, against
    one reached on every seed: apart), noise aside; what one seed a side can tell."""
    if not (math.isfinite(a.mean) and math.isfinite(b.mean)):
        return max(a.values) < min(b.values) or max(b.values) < min(a.values)
    return abs(a.mean - b.mean) > min_effect * max(abs(a.mean), abs(b.mean), 1e-12)


def clear(a: Stat, b: Stat, min_effect: float, log: bool = False) -> bool:
    """Whether the two arms' results differ by more than the noise (see the module's text): never
    with fewer than two seeds on a side. ``log``: on a log scale, when every value is positive
    (losses, norms)."""
    if not seeded(a, b):
        return False
    if log and all(v > 0 and math.isfinite(v) for v in a.values + b.values):
        if not apart(a, b, min_effect):
            return False
        return clear(Stat([math.log(v) for v in a.values]), Stat([math.log(v) for v in b.values]), 0.0)
    if not apart(a, b, min_effect):
        return False
    if not (math.isfinite(a.mean) and math.isfinite(b.mean)):
        return True  # apart: the seeds do not overlap
    if a.sd is not None and b.sd is not None:
        return abs(a.mean - b.mean) > 2 * math.sqrt(a.sd ** 2 / a.n + b.sd ** 2 / b.n)
    return False


def equivalent(a: Stat, b: Stat, margin: float, log: bool = False) -> bool:
    """Whether the data show the two arms agree within ``margin`` of their values: the
    difference of the means, plus twice its standard error, is inside the margin (with ``log``,
    the ratio of the values, on a log scale). Never with one seed (no noise measured); two arms
    that both failed on every seed (never reached an ``epochs_to`` target, diverged) show nothing."""
    if not a.values or not b.values or (a.failed and b.failed):
        return False
    if log and all(v > 0 and math.isfinite(v) for v in a.values + b.values):
        a, b, allowed = Stat([math.log(v) for v in a.values]), Stat([math.log(v) for v in b.values]), math.log1p(margin)
    else:
        allowed = margin * max(abs(a.mean), abs(b.mean), 1e-12)
    if a.sd is None or b.sd is None:
        return False
    return abs(a.mean - b.mean) + 2 * math.sqrt(a.sd ** 2 / a.n + b.sd ** 2 / b.n) <= allowed


def relation(a: Stat, ref: Stat, rule: Rule) -> str:
    """``a`` against the reference: better, worse, same (shown within the margin), unclear
    (neither), unmeasured (no results on one side) or failed (every run on both sides). With one
    seed on a side (:func:`seeded`), better and worse are a direction only (see :func:`fate`)."""
    log = rule.metric in LOG_SCALE
    if not a.values or not ref.values:
        return "unmeasured"
    if a.failed and ref.failed:
        return "failed"
    if clear(a, ref, rule.min_effect, log) or (not seeded(a, ref) and apart(a, ref, rule.min_effect)):
        return "better" if better(a.mean, ref.mean, rule.goal) else "worse"
    return "same" if equivalent(a, ref, rule.margin, log) else "unclear"


def fate(expected: str, found: str, thin: bool = False) -> str:
    """An expectation against what was measured: held, against, unclear (neither a clear
    difference nor one shown small), unmeasured, failed (both sides), or indicative (``thin``:
    one seed on a side, so a direction at most). An expected difference that the data show to be
    within the margin goes against the lesson; so does a clear one where none was expected."""
    if found in ("unclear", "unmeasured", "failed"):
        return "indicative" if thin and found == "unclear" else found
    if thin:
        return "indicative"
    if found == expected or (expected == "differ" and found in ("better", "worse")):
        return "held"
    return "against"


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


def stats_by_arm(results: list[dict[str, Any]], metric: str, goal: str | None = None) -> dict[str, Stat]:
    """Each arm's values of ``metric``; with ``goal``, a run that diverged before the metric could
    be read counts as the worst value (-inf when higher is better, +inf when lower is). A run
    that did not diverge and gave NaN is left out, and named."""
    out: dict[str, Stat] = {}
    for r in results:
        got = (r.get("metrics") or {}).get(metric)
        stat = out.setdefault(r["arm"], Stat([]))
        if got is not None and not math.isnan(got):
            stat.values.append(got)
        elif r.get("status") == "diverged":
            if goal is not None:
                stat.values.append(-math.inf if goal == "max" else math.inf)
                stat.diverged += 1
        elif got is not None:
            stat.unread.append(f"seed {r.get('seed', '?')}")
    return out


def noise_note(stats: list[Stat], rule: Rule) -> str:
    if any(s.n < 2 for s in stats if s.values):
        return (f"one seed: the spread between seeds is not measured, so no difference can be shown clear and no two "
                f"arms the same; a gap over {share(rule.min_effect)} is a direction only")
    scale = " (on a log scale)" if rule.metric in LOG_SCALE else ""
    return (f"clear: means apart by more than {share(rule.min_effect)} and by more than twice the standard error of "
            f"their difference{scale}; the same: that difference, widened by twice its standard error, within "
            f"±{share(rule.margin)}")


def outcome(judged: list[str]) -> str:
    """From each expectation's fate (see :func:`fate`) to the lab's outcome: one seed anywhere makes
    it indicative, an expectation not measured makes it partial, and only then holds,
    contradicted, unclear, failed or mixed."""
    measured = [j for j in judged if j != "unmeasured"]
    if not measured:
        return "skipped" if judged else "measured"
    if "indicative" in measured:
        return "indicative"
    if len(measured) < len(judged):
        return "partial"
    for every, result in (("held", "holds"), ("unclear", "unclear"), ("failed", "failed")):
        if all(j == every for j in measured):
            return result
    if "held" not in measured and "against" in measured:
        return "contradicted"
    return "mixed"
