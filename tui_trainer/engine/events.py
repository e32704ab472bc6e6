"""What the engine tells the world: small frozen dataclasses of plain data.

``metrics.jsonl`` holds exactly these events, one JSON object a line, with the
event's kind under ``"event"``; :func:`event_from_dict` reads them back, so a live
run and a run read from disk look the same to every consumer.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class RunStarted:
    preset: str
    run_dir: str | None
    device: str
    precision: str
    threads: int
    parameters: int
    model: list[str]
    train_size: int
    val_size: int
    test_size: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    start_epoch: int
    tricks: list[str]
    clip_threshold: float | None
    patience: int | None
    start_step: int = 0  # > 0: a resumed run, continuing after this many steps
    dataset: str = ""
    input_shape: list[int] = field(default_factory=list)  # per sample, channels first
    data_mode: str = "resident"  # held on the device, or "streamed" from disk through a DataLoader
    data_detail: str = ""
    notes: list[str] = field(default_factory=list)  # skipped files, tricks that do not apply in part
    tokens_per_sample: int = 0  # language models: the characters each sample predicts (its speed is told in tokens/s)
    # simple predictors' scores, see Datasets.baselines
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    processes: int = 1  # > 1: one run over several processes (torchrun); batch_size is the global batch
    clip_mode: str = "norm"  # gradient clipping by "norm" (clip_threshold bounds |g|) or by "value"
    schedule: str = ""  # the LR schedule's kind, "" when off
    # [global step, what]: the schedule's planned turns, for the markers
    lr_marks: list[list[Any]] = field(default_factory=list)
    refused_tricks: list[str] = field(default_factory=list)  # a user's model: the tricks its factory cannot take


@dataclass(frozen=True)
class StepStats:
    """Statistics of consecutive steps, fetched from the device in one transfer.

    ``lrs[i]`` is the LR used by step ``first_step + i``; ``grad_norms`` are the
    global gradient norms before clipping."""

    epoch: int
    first_step: int
    step_in_epoch: int  # steps of this epoch done after the last of these
    losses: list[float]
    grad_norms: list[float]
    lrs: list[float]
    samples_per_second: float
    seconds: float = 0.0  # the training time they span, pauses excluded (samples = samples_per_second × seconds)


@dataclass(frozen=True)
class EpochEnded:
    epoch: int  # 1-based: the number of epochs done
    train_loss: float
    val_loss: float
    val_accuracy: float | None  # classification's metric; the task's metrics are all in ``metrics``
    lr: float
    seconds: float
    samples_per_second: float
    # the task's validation metrics besides the loss: {"val_accuracy": 0.97}
    metrics: dict[str, float] = field(default_factory=dict)
    tokens_per_second: float = 0.0  # language models: characters predicted per second of training
    clipped_steps: int | None = None  # the epoch's steps whose gradient norm clipping cut (norm clipping on; else None)
    steps: int = 0  # the epoch's steps (those of this session, after a resume mid-epoch)
    # the L2 norm of the weights (every parameter of two dimensions or more) after the epoch
    weight_norm: float | None = None
    # the run's wall time when the epoch ended, over all its sessions: between two epochs, everything an epoch costs
    wall_seconds: float | None = None


@dataclass(frozen=True)
class EarlyStoppingState:
    epoch: int
    enabled: bool
    monitor: str
    value: float
    best_value: float
    best_epoch: int
    wait: int  # epochs since the last improvement
    patience: int
    improved: bool


@dataclass(frozen=True)
class CheckpointSaved:
    epoch: int
    kind: str  # "last" or "best"
    path: str


@dataclass(frozen=True)
class StepsSkipped:
    """Optimizer steps that did not happen: ``cause`` is ``nonfinite`` (the skip policy for a
    non-finite loss or gradient) or ``grad_scaler`` (fp16: the GradScaler found inf/NaN
    gradients, skipped the step and lowered its scale; this is normal, not a divergence)."""

    epoch: int
    steps: list[int]  # global step numbers, 1-based
    cause: str
    total: int  # skipped so far in the run, for this cause

    def describe(self) -> str:
        steps = ", ".join(map(str, self.steps[:5])) + (", ..." if len(self.steps) > 5 else "")
        if self.cause == "grad_scaler":
            return (f"fp16: the GradScaler skipped step {steps} (inf/NaN gradients; it lowers its scale), "
                    f"{self.total} so far")
        return f"skipped step {steps}: non-finite loss or gradient (train.on_nonfinite = skip), {self.total} so far"


@dataclass(frozen=True)
class Intervention:
    """Settings changed while the run trains (steering: the app's keys, ``tui-trainer nudge``),
    applied before step ``step + 1``; a resume replays those after its checkpoint at the same step."""

    step: int  # global steps done when it took effect
    epoch: int  # the epoch in progress, 0-based
    changes: dict[str, Any]  # knob -> new value: lr_scale, clip ("off" or a threshold), dropout, weight_decay, patience
    source: str = "app"  # app, nudge or replay

    def describe(self) -> str:
        return ", ".join(f"{KNOB_LABELS.get(k, k)} {v:g}" if isinstance(v, float) else f"{KNOB_LABELS.get(k, k)} {v}"
                         for k, v in self.changes.items())


KNOB_LABELS = {"lr_scale": "lr ×", "clip": "clip", "dropout": "dropout p", "weight_decay": "weight decay",
               "patience": "patience"}


@dataclass(frozen=True)
class SystemStats:
    """The system's load, sampled about once a second off the training thread (see engine/system.py)."""

    seconds: float  # since the run (this session of it) started
    cpu_percent: float  # this process's CPU time over the wall time: 100 = one core busy
    rss_mb: float  # this process's resident memory, MiB
    gpu_percent: float | None = None  # CUDA with NVML: the device's utilisation
    gpu_mb: float | None = None  # CUDA: memory in use (NVML: the device's; else this process's allocated)


@dataclass(frozen=True)
class ActivationStats:
    """Dead ReLU units and saturated tanh/sigmoid/RNN outputs, measured on a copy of a training batch
    every ``train.activations_every`` steps (see engine/activations.py): the share per layer."""

    epoch: int  # the epoch in progress, 0-based
    step: int  # global steps done
    dead: dict[str, float] = field(default_factory=dict)  # ReLU layer -> share of its units zero for the whole batch
    saturated: dict[str, float] = field(default_factory=dict)  # tanh/sigmoid/RNN layer -> share of values saturated
    samples: int = 0  # in the batch measured


@dataclass(frozen=True)
class SampleText:
    """Text generated from the weights of the moment (a language model): after an epoch
    (``trigger`` "epoch") or when asked (``"request"``, the app's ``g``)."""

    epoch: int  # epochs done when it was drawn
    step: int  # global steps done
    text: str  # the prompt, then what the model wrote
    prompt: str
    temperature: float
    top_k: int
    seed: int
    seconds: float  # how long drawing it took (training waited that long, and no longer)
    trigger: str = "epoch"


@dataclass(frozen=True)
class RunWarning:
    message: str


@dataclass(frozen=True)
class RunEnded:
    status: str  # completed, early_stopped, stopped, diverged or failed
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)


Event = Union[RunStarted, StepStats, EpochEnded, EarlyStoppingState, CheckpointSaved, StepsSkipped, SampleText,
              RunWarning, RunEnded, SystemStats, Intervention, ActivationStats]

EVENT_KINDS: dict[str, type] = {
    "run_started": RunStarted,
    "step_stats": StepStats,
    "epoch_ended": EpochEnded,
    "early_stopping": EarlyStoppingState,
    "checkpoint_saved": CheckpointSaved,
    "steps_skipped": StepsSkipped,
    "sample": SampleText,
    "warning": RunWarning,
    "run_ended": RunEnded,
    "system": SystemStats,
    "intervention": Intervention,
    "activations": ActivationStats,
}
_KIND_OF = {cls: kind for kind, cls in EVENT_KINDS.items()}


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as strings that read back as floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    data = {"event": _KIND_OF[type(event)]}
    data.update((f.name, _json_safe(getattr(event, f.name))) for f in dataclasses.fields(event))
    return data


def _float_fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "float" in str(f.type)}


def _floats(value: Any) -> Any:
    """Numbers (and "nan"/"inf" strings) as floats, through lists and dicts; None stays None."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return None if value is None else float(value)


def event_from_dict(data: dict[str, Any]) -> Event:
    cls = EVENT_KINDS[data["event"]]
    floats = _float_fields(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        values[f.name] = _floats(value) if f.name in floats else value
    return cls(**values)


def dispatch(consumer: Any, event: Event) -> None:
    """Show ``event`` with the consumer's method for its kind, ``show_<kind>`` (``show_step_stats``,
    ``show_epoch_ended``, ... as in :data:`EVENT_KINDS`), if it has one: a consumer's methods
    are its table of what it shows, and :func:`unhandled` lists what it leaves out."""
    method = getattr(consumer, _SHOW[type(event)], None)
    if method is not None:
        method(event)


def unhandled(consumer: Any) -> list[str]:
    """The event kinds ``consumer`` has no ``show_<kind>`` method for."""
    return [kind for kind in EVENT_KINDS if not hasattr(consumer, f"show_{kind}")]


_SHOW = {cls: f"show_{kind}" for kind, cls in EVENT_KINDS.items()}
