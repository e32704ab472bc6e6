"""What the doctor says: a finding (a name, its evidence in numbers, why it matters, how sure it
is, where it began) and the prescription for it (a change of settings, as typed, what it should
move, and the lab of this tool that measured it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("warning", "note")  # a warning: the run went wrong; a note: it could do better
CONFIDENCES = ("high", "medium", "low")


@dataclass(frozen=True)
class Prescription:
    overrides: dict[str, Any]  # dotted setting -> value: the change, as a config override
    typed: str  # the same as it is typed after `tui-trainer train PRESET`
    moves: str  # what the change should move, in words
    lab: str | None = None  # the bundled lab that measured this trick on this symptom
    lab_says: str = ""  # that lab's outcome and numbers, from its latest result here or the shipped reference


@dataclass(frozen=True)
class Finding:
    name: str  # a stable id: "overfitting", "exploding_gradients", ...
    title: str  # in words: "over-fitting"
    severity: str  # see SEVERITIES
    confidence: str  # see CONFIDENCES; low when the run is too short to judge
    evidence: str  # the epochs, steps and numbers that show it
    why: str  # why it matters, in one sentence
    epoch: int | None = None  # the epoch (1-based) where it began, for a marker on the curve
    step: int | None = None  # the global step (1-based) where it began, where a step tells more
    prescription: Prescription | None = None
    source: str = "run"  # "run": read off its events; "settings": a rule of the lesson's, on its config

    @property
    def began(self) -> str:
        """Where it began, in words: ``epoch 8``, ``step 71``, or ""."""
        return f"epoch {self.epoch}" if self.epoch else (f"step {self.step}" if self.step else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Diagnosis:
    """The findings on one run, the most serious first, and what was checked to find them."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the titles of every check on the run's events
    rules: list[str] = field(default_factory=list)  # the titles of the lesson's rules checked on its settings
    epochs: int = 0  # epochs the events hold
    status: str = "running"
    unread: str = ""  # why part of the run could not be read, said as such
    unchecked: str = ""  # checks that had nothing to read in this run, and why

    def headline(self) -> str:
        """One line: the first finding, or that nothing was found and how much was checked."""
        if not self.findings:
            return f"nothing wrong found in {self.epochs} epochs ({len(self.checked) + len(self.rules)} checks)"
        first = self.findings[0]
        more = f" (+{len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return f"{first.severity}: {first.title}, {first.confidence} confidence{more}"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "epochs": self.epochs, "findings": [f.to_dict() for f in self.findings],
                "checked": self.checked, "rules": self.rules, "unread": self.unread,
                "unchecked": self.unchecked}


def confidence(epochs: int, strong: bool, few: int) -> str:
    """High for a strong signal over enough epochs, low for a run too short to judge, else medium."""
    if epochs < few:
        return "low"
    return "high" if strong else "medium"
