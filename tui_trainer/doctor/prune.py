"""``sweep --prune doctor``: stop a trial as soon as the doctor is sure it went wrong.

Beside ASHA (``--scheduler asha``), which stops the trials that fall behind the others, this
stops a trial on its own evidence, whatever the others do: after each of its epochs, the doctor
reads its ``metrics.jsonl`` and prunes it on a warning it is sure of (high or medium confidence)
that more epochs cannot cure: an LR that throws the loss off, gradients that explode with no
clipping, a deep plain net whose loss never moved. The stop is a ``PRUNE`` file in the trial's
folder, as ASHA's: the trial ends at its next step boundary with ``last.pt`` and a summary of
status ``pruned`` that names the finding.
"""

from __future__ import annotations

from pathlib import Path

from ..experiments.trials import PRUNE
from ..runs.catalog import load_run
from ..runs.folder import METRICS
from .diagnose import diagnose
from .trace import read_trace

#: The findings a trial is stopped for: warnings that training on does not cure.
PRUNE_ON = ("lr_too_high", "exploding_gradients", "vanishing_gradients")
SURE = ("high", "medium")


class DoctorPruner:
    def __init__(self) -> None:
        self.sizes: dict[Path, int] = {}  # trial folder -> the size of metrics.jsonl when last read
        self.done: set[Path] = set()
        self.pruned: dict[Path, str] = {}  # trial folder -> why

    def add(self, path: Path) -> None:
        self.sizes[Path(path)] = 0

    def poll(self) -> None:
        """Diagnose every trial still training whose metrics grew since the last look."""
        for path in list(self.sizes):
            if path in self.done:
                continue
            try:
                size = (path / METRICS).stat().st_size
            except OSError:
                continue
            if size == self.sizes[path]:
                continue
            self.sizes[path] = size
            trace = read_trace(path, load_run(path).config)
            if trace.ended is not None:
                self.done.add(path)
                continue
            why = self.verdict(trace)
            if why:
                (path / PRUNE).write_text(why + "\n")
                self.pruned[path] = why
                self.done.add(path)

    @staticmethod
    def verdict(trace) -> str:
        """Why the trial should stop now, or ""."""
        if not trace.epochs:
            return ""
        for finding in diagnose(trace, settings=False).findings:
            if finding.name in PRUNE_ON and finding.severity == "warning" and finding.confidence in SURE:
                return (f"pruned by the doctor after epoch {len(trace.epochs)}: {finding.title}: "
                        f"{finding.evidence}")
        return ""
