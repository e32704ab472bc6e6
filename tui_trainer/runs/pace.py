"""How fast a run goes and how long it has left, from its events alone (free of Textual, and of
any clock of the viewer's, so a followed run and a live one read the same).

The rate is the training rate of the epoch in progress, as its epoch line will give it: its
samples over its training time, every fetch of step statistics counted (one fetch alone can be
a few steps of noise). The time left is the epochs left times the whole wall time an epoch
takes, measured between the ends of the epochs of this session: training, validation,
checkpoints and text samples all included. Before two epochs have ended, the first epoch's own
time (training and validation) stands in; before one has, the training rate.
"""

from __future__ import annotations

from ..engine.events import EpochEnded, RunStarted, StepStats


class Pace:
    def __init__(self) -> None:
        self._reset(None)

    def _reset(self, started: RunStarted | None) -> None:
        self.started = started
        self.ends: list[EpochEnded] = []  # this session's
        self.epoch = -1  # the epoch in progress (0-based) that samples and seconds count
        self.samples = self.seconds = 0.0
        self.last_rate = 0.0  # the last fetch's, where the events carry no time (an older run's)
        self.step_in_epoch = 0

    def show_run_started(self, event: RunStarted) -> None:
        self._reset(event)  # a resume too: this session's epochs alone give its pace

    def show_step_stats(self, event: StepStats) -> None:
        if event.epoch != self.epoch:
            self.epoch, self.samples, self.seconds = event.epoch, 0.0, 0.0
        self.samples += event.samples_per_second * event.seconds
        self.seconds += event.seconds
        self.last_rate, self.step_in_epoch = event.samples_per_second, event.step_in_epoch

    def show_epoch_ended(self, event: EpochEnded) -> None:
        self.ends.append(event)

    @property
    def rate(self) -> float:
        """Samples per second of training in the epoch in progress (0 before its first statistics)."""
        return self.samples / self.seconds if self.seconds > 0 else self.last_rate

    def epoch_seconds(self) -> float | None:
        """The wall time an epoch takes here, everything included; None before it can be told."""
        timed = [e for e in self.ends if e.wall_seconds is not None]
        if len(timed) >= 2 and timed[-1].epoch > timed[0].epoch:
            return (timed[-1].wall_seconds - timed[0].wall_seconds) / (timed[-1].epoch - timed[0].epoch)
        if self.ends:
            return self.ends[-1].seconds
        started, rate = self.started, self.rate
        return started.steps_per_epoch * started.batch_size / rate if started is not None and rate > 0 else None

    def remaining(self) -> float | None:
        """Seconds until the last epoch ends, at the pace measured so far; None before any."""
        started, per_epoch = self.started, self.epoch_seconds()
        if started is None or per_epoch is None:
            return None
        done = self.ends[-1].epoch if self.ends else started.start_epoch
        in_progress = self.step_in_epoch / started.steps_per_epoch if self.epoch == done else 0.0
        return max(0.0, started.epochs - done - in_progress) * per_epoch
