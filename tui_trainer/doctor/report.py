"""The doctor's words on a terminal: each finding with its evidence, why it matters, and the
prescription as a command to copy, wrapped to the terminal; the settings' rules as comments."""

from __future__ import annotations

import textwrap

from .findings import Diagnosis, Finding


def _wrapped(label: str, text: str, width: int) -> list[str]:
    lead = f"  {label:<10} "
    return textwrap.wrap(text, width=max(40, width), initial_indent=lead, subsequent_indent=" " * len(lead),
                         break_on_hyphens=False, break_long_words=False)


def finding_lines(finding: Finding, rerun: str, width: int = 80) -> list[str]:
    """A finding as a block: the title line, then its evidence, why, and prescription."""
    where = f", from {finding.began}" if finding.began else ""
    lines = textwrap.wrap(f"{finding.severity}: {finding.title} ({finding.confidence} confidence{where})",
                          width=max(40, width), subsequent_indent="  ", break_on_hyphens=False)
    lines += _wrapped("evidence", finding.evidence, width)
    lines += _wrapped("why", finding.why, width)
    p = finding.prescription
    if p is not None:
        lines.append(f"  {'try':<10} {rerun} {p.typed}")  # one line, to copy whole
        lines += _wrapped("moves", p.moves, width)
        lines += _wrapped("measured", f"lab {p.lab}: {p.lab_says}" if p.lab else p.lab_says, width)
    return lines


def diagnosis_text(diagnosis: Diagnosis, label: str, rerun: str, width: int = 80) -> str:
    """``runs diagnose``: the run, its findings (warnings first), and what was checked."""
    head = f"{label}: {diagnosis.status}, {diagnosis.epochs} epoch{'s' if diagnosis.epochs != 1 else ''}"
    lines = [head]
    if diagnosis.unread:
        lines.append(f"  ({diagnosis.unread})")
    run = [f for f in diagnosis.findings if f.source == "run"]
    rules = [f for f in diagnosis.findings if f.source == "settings"]
    if not run:
        lines += ["", f"nothing wrong found in what the run shows ({len(diagnosis.checked)} checks on its curves "
                      "and steps)" if diagnosis.epochs else "no epoch to judge yet"]
    for finding in run:
        lines += ["", *finding_lines(finding, rerun, width)]
    if rules:
        lines += ["", "the lesson's rules, on its settings:"]
        for finding in rules:
            cure = f" (try {finding.prescription.typed})" if finding.prescription else ""
            lines += textwrap.wrap(f"{finding.title}: {finding.evidence}{cure}", width=max(40, width),
                                   initial_indent="  - ", subsequent_indent="    ", break_on_hyphens=False)
    checked = ", ".join(diagnosis.checked + diagnosis.rules)
    lines += ["", *textwrap.wrap(f"checked: {checked}", width=max(40, width), subsequent_indent="  ",
                                 break_on_hyphens=False)]
    if diagnosis.unchecked:
        lines += textwrap.wrap(f"not checked: {diagnosis.unchecked}", width=max(40, width), subsequent_indent="  ",
                               break_on_hyphens=False)
    return "\n".join(lines)
