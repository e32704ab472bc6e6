"""``sweep --scheduler asha``: stop hopeless trials early.

The decisions are Ray Tune's ``ASHAScheduler`` (asynchronous successive halving): at rungs of
``grace × reduction^k`` epochs, a trial whose validation loss is not among the best
``1/reduction`` of the trials that reached that rung so far is stopped. Tune's own trial
execution is not used: it owns each trial's process and ends a stopped one wherever it is,
leaving a run folder without a summary. Here the scheduler is fed each trial's ``epoch_ended``
events from its ``metrics.jsonl`` (in the runs folder every node shares), and a stop is a
``PRUNE`` file in the trial's folder: the trial ends at its next step boundary, as any stop,
with ``last.pt`` and a summary of status ``pruned`` that says why. A sweep run again leaves
pruned trials as they are; ``train --resume`` can still finish one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .trials import PRUNE

SCHEDULERS = ("asha",)


class Pruners:
    """Several pruners as one (``--scheduler asha`` and ``--prune doctor`` together): each sees
    every trial and may stop it."""

    def __init__(self, pruners: list) -> None:
        self.pruners = pruners

    def add(self, path: Path) -> None:
        for pruner in self.pruners:
            pruner.add(path)

    def poll(self) -> None:
        for pruner in self.pruners:
            pruner.poll()
METRIC = "val_loss"  # every task reports it, lower is better


@dataclass(frozen=True)
class _Trial:
    trial_id: str  # what the scheduler knows a trial by


class AshaPruner:
    def __init__(self, epochs: int, grace: int = 1, reduction: int = 3):
        try:
            from ray.tune.schedulers import ASHAScheduler
        except ImportError:
            raise UserError("--scheduler asha uses Ray Tune's ASHA: pip install "
                            "'tui-trainer[ray]' (or pip install 'ray[tune]')") from None
        if grace < 1 or grace >= epochs:
            raise UserError(f"--grace-epochs {grace}: must be at least 1 and below the epochs ({epochs})")
        self.scheduler = ASHAScheduler(time_attr="epoch", metric=METRIC, mode="min", max_t=epochs, grace_period=grace,
                                       reduction_factor=reduction, brackets=1, stop_last_trials=False)
        self.reduction = reduction
        self.offsets: dict[Path, int] = {}  # trial folder -> bytes of metrics.jsonl read
        self.done: set[Path] = set()

    def add(self, path: Path) -> None:
        self.scheduler.on_trial_add(None, _Trial(str(path)))
        self.offsets[Path(path)] = 0

    def poll(self) -> None:
        """Read the new epoch results of every trial still training; prune the ones ASHA stops."""
        for path, offset in list(self.offsets.items()):
            if path in self.done:
                continue
            metrics = path / "metrics.jsonl"
            try:
                with metrics.open("rb") as f:
                    size = f.seek(0, 2)
                    if size < offset:  # a resume cut the file back: read it again (ASHA ignores what it has seen)
                        offset = 0
                    f.seek(offset)
                    data = f.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]
            self.offsets[path] = offset + len(complete)
            for line in complete.splitlines():
                event = json.loads(line)
                if event.get("event") == "run_ended":
                    self.done.add(path)
                elif event.get("event") == "epoch_ended" and self._stops(path, event["epoch"], event["val_loss"]):
                    (path / PRUNE).write_text(f"pruned by ASHA after epoch {event['epoch']}: {METRIC} "
                                              f"{float(event['val_loss']):.4g} is not among the best "
                                              f"1/{self.reduction} of the trials that reached that epoch\n")
                    self.done.add(path)
                    break

    def _stops(self, path: Path, epoch: int, value) -> bool:
        from ray.tune.schedulers import TrialScheduler

        value = float(value)
        if value != value:  # NaN: the trial diverges; it stops itself
            return False
        return self.scheduler.on_trial_result(None, _Trial(str(path)),
                                              {"epoch": epoch, METRIC: value}) == TrialScheduler.STOP
