"""The doctor's findings beside the live curves, in the app and in ``watch``: redrawn when an epoch
ends (or the run does), a line a finding (two at most), each with where it began and the change
to try; or that nothing is wrong, and how much was checked. Hidden until the first epoch has ended."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...doctor import Diagnosis, Finding

STYLES = {"warning": "bold yellow", "note": "cyan"}


def finding_text(finding: Finding) -> Text:
    where = f" from {finding.began}" if finding.began else ""
    text = Text.assemble((finding.severity, STYLES.get(finding.severity, "")), f" {finding.title}",
                         (f" ({finding.confidence}){where}", "dim"))
    if finding.prescription is not None:
        text.append(": try ")
        text.append(finding.prescription.typed, style="bold")
    return text


def panel_lines(diagnosis: Diagnosis, rows: int = 2) -> list[Text]:
    """The panel's lines: a finding a line, the last saying how many more there are."""
    if not diagnosis.findings:
        epochs = f"{diagnosis.epochs} epoch{'s' if diagnosis.epochs != 1 else ''}"
        return [Text.assemble(("doctor ", "bold"), f"nothing wrong in {epochs} ",
                              (f"({len(diagnosis.checked)} checks)", "dim"))]
    lines = [Text.assemble(("doctor ", "bold"), finding_text(f)) if i == 0 else
             Text.assemble("       ", finding_text(f)) for i, f in enumerate(diagnosis.findings[:rows])]
    more = len(diagnosis.findings) - rows
    if more > 0:
        lines[-1].append(f"  (+{more} more: tui-trainer runs diagnose)", style="dim")
    return lines


class DoctorPanel(Static):
    DEFAULT_CSS = """
    DoctorPanel {
        display: none;
        height: 1;
        padding: 0 0;
    }
    DoctorPanel.-shown {
        display: block;
    }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.diagnosis: Diagnosis | None = None
        self.shown: Text | None = None

    def show_diagnosis(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        lines = panel_lines(diagnosis)
        text = Text("\n").join(lines)
        text.no_wrap, text.overflow = True, "ellipsis"  # a line each, cut at the edge: the panel never grows
        if text == self.shown and self.has_class("-shown"):
            return  # the same words: no refresh
        self.shown = text
        if self.styles.height is None or self.styles.height.value != len(lines):
            self.styles.height = len(lines)  # one line when there is one thing to say: a new layout only then
        self.add_class("-shown")
        self.update(text)

    def clear(self) -> None:
        self.diagnosis, self.shown = None, None
        self.remove_class("-shown")
        self.update("")
