"""TensorBoard: a run's events as scalars, through TensorBoard's own ``SummaryWriter``
(``torch.utils.tensorboard``; the optional ``tensorboard`` package).

:class:`TensorBoardSink` is an event sink: live (``train ... --tensorboard DIR``) or fed a
finished run's ``metrics.jsonl`` (``runs export RUN --tensorboard DIR``), it writes the same
tags, on the x axis of global steps:

- ``train/loss``, ``train/lr``, ``train/grad_norm`` per step;
- ``train/epoch_loss``, ``val/loss`` and ``val/<metric>`` per epoch (at the epoch's last step);
- ``early_stopping/wait`` and ``early_stopping/best``;
- ``system/cpu_percent``, ``system/rss_mb`` (and ``system/gpu_percent``, ``system/gpu_mb``);
- ``test/<metric>`` at the end.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..engine.events import (
    ActivationStats,
    EarlyStoppingState,
    EpochEnded,
    Event,
    RunEnded,
    RunStarted,
    StepStats,
    SystemStats,
    dispatch,
)
from ..errors import UserError
from .folder import read_events


def require_tensorboard() -> None:
    """Refuse ``--tensorboard`` before anything is made when TensorBoard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise UserError("--tensorboard needs TensorBoard: pip install "
                        "'tui-trainer[tensorboard]' (or pip install tensorboard)") from None


def _writer(log_dir: Path | str) -> Any:
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    try:
        return SummaryWriter(log_dir=str(log_dir))
    except OSError as exc:
        raise UserError(f"--tensorboard {log_dir}: cannot write there ({exc.strerror or exc})") from None


class TensorBoardSink:
    def __init__(self, log_dir: Path | str):
        self.writer = _writer(log_dir)
        self.step = 0  # global steps so far: the x axis

    def __call__(self, event: Event) -> None:
        dispatch(self, event)

    def _scalar(self, tag: str, value: Any, step: int | None = None) -> None:
        if isinstance(value, (int, float)) and math.isfinite(value):
            self.writer.add_scalar(tag, value, self.step if step is None else step)

    def show_run_started(self, event: RunStarted) -> None:
        self.step = event.start_step

    def show_step_stats(self, event: StepStats) -> None:
        for i, (loss, norm, lr) in enumerate(zip(event.losses, event.grad_norms, event.lrs)):
            step = event.first_step + i + 1
            self._scalar("train/loss", loss, step)
            self._scalar("train/grad_norm", norm, step)
            self._scalar("train/lr", lr, step)
        self.step = event.first_step + len(event.losses)

    def show_epoch_ended(self, event: EpochEnded) -> None:
        self._scalar("train/epoch_loss", event.train_loss)
        self._scalar("val/loss", event.val_loss)
        for name, value in (event.metrics or {"val_accuracy": event.val_accuracy}).items():
            self._scalar(f"val/{name.removeprefix('val_')}", value)

    def show_early_stopping(self, event: EarlyStoppingState) -> None:
        self._scalar("early_stopping/wait", event.wait)
        self._scalar("early_stopping/best", event.best_value)

    def show_system(self, event: SystemStats) -> None:
        for name in ("cpu_percent", "rss_mb", "gpu_percent", "gpu_mb"):
            self._scalar(f"system/{name}", getattr(event, name))

    def show_activations(self, event: ActivationStats) -> None:
        for name, share in event.dead.items():
            self._scalar(f"activations/dead/{name}", share, event.step)
        for name, share in event.saturated.items():
            self._scalar(f"activations/saturated/{name}", share, event.step)

    def show_run_ended(self, event: RunEnded) -> None:
        s = event.summary
        self._scalar("test/loss", s.get("test_loss"))
        for name, value in (s.get("test_metrics") or {}).items():
            self._scalar(f"test/{name.removeprefix('test_')}", value)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def export_run(run_dir: Path | str, log_dir: Path | str) -> int:
    """Write a run's ``metrics.jsonl`` as TensorBoard scalars in ``log_dir``; the events read."""
    sink = TensorBoardSink(log_dir)
    count = 0
    try:
        for event in read_events(Path(run_dir) / "metrics.jsonl"):
            sink(event)
            count += 1
    finally:
        sink.close()
    return count
