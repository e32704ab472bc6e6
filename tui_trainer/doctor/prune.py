"""``sweep --prune doctor``: stop a trial as soon as the doctor is sure it went wrong.

Beside ASHA (``--scheduler asha``), which stops the trials that fall behind the others, this
stops a trial on its own evidence, whatever the others do: after each of its epochs, the doctor
reads its ``metrics.jsonl`` and prunes it on a warning it is sure of (high or medium confidence)
that more epochs cannot cure: an LR that throws the loss off, gradients that explode with no
clipping, a deep plain net whose loss never moved, ReLUs that died (a dead unit gets no gradient
to bring it back) and activations pinned at their limits. The stop is a ``PRUNE`` file in the trial's
folder, as ASHA's: the trial ends at its next step boundary with ``last.pt`` and a summary of
status ``pruned`` that names the finding.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.events import EpochEnded, RunEnded, dispatch
from ..experiments.trials import PRUNE
from ..runs.catalog import load_run
from ..runs.folder import METRICS
from ..runs.follow import MetricsFollower
from .diagnose import diagnose
from .trace import Trace

#: The findings a trial is stopped for: warnings that training on does not cure.
PRUNE_ON = ("lr_too_high", "exploding_gradients", "vanishing_gradients", "dead_relu", "saturated")
SURE = ("high", "medium")


class DoctorPruner:
    def __init__(self) -> None:
        self.followers: dict[Path, MetricsFollower] = {}  # trial folder -> its metrics.jsonl, read as it grows
        self.traces: dict[Path, Trace] = {}  # trial folder -> its events so far
        self.done: set[Path] = set()
        self.pruned: dict[Path, str] = {}  # trial folder -> why

    def add(self, path: Path) -> None:
        self.followers[Path(path)] = MetricsFollower(Path(path) / METRICS)

    def poll(self) -> None:
        """Fold each training trial's new events into its trace; diagnose it when an epoch has ended."""
        for path, follower in self.followers.items():
            events = [] if path in self.done else follower.poll()
            if not events:
                continue
            if follower.restarted or path not in self.traces:  # a resume cut the file back: read it anew
                follower.restarted = False
                self.traces[path] = Trace(config=load_run(path).config)
            trace = self.traces[path]
            for event in events:
                dispatch(trace, event)
            if any(isinstance(e, RunEnded) for e in events):
                self.done.add(path)
            elif any(isinstance(e, EpochEnded) for e in events) and (why := self.verdict(trace)):
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
