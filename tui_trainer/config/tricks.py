"""The tricks, each one unit: its settings (a frozen dataclass with an ``enabled`` switch) and,
on its field of :class:`TricksConfig`, what every interface needs to show it: a title, a short
code, the help of its ``--X/--no-X`` switch, why it exists, and which settings the app's panel
shows. :data:`TRICKS` holds them as :class:`Trick`; the CLI"s switches, the app"s checkboxes and
explanations, ``runs list``'s codes, ``ablate --tricks`` and the docs reference are made from it.

What a trick does lives where it acts: its line(s) in the training loop, or the model or
optimizer code it changes; its state in the part of the run that owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .fields import _f


@dataclass(frozen=True)
class ScheduleKind:
    """A kind of LR schedule, as the settings know it (torch builds it: ``engine/schedule.py``):
    when it steps, which of ``[tricks.lr_schedule]``'s parameters it reads, and how it takes a
    warm-up. The panel shows the parameters it reads, the reference lists them, and the checks
    refuse a warm-up it cannot take."""

    per_batch: bool  # stepped after every batch; else once per epoch
    params: tuple[str, ...]  # what it reads, besides the warm-up's settings
    # "added": a linear warm-up before it; "own": it rises by itself; "rise": the warm-up is its rise
    warmup: str = "added"
    warmup_rule: str = ""  # "own" and "rise": why a warm-up must be 0, or given
    ends_at_min_lr: bool = False  # min_lr is where it ends, so it must be below train.lr

    @property
    def reads(self) -> tuple[str, ...]:
        """Every parameter it reads, the warm-up's included."""
        return self.params + WARMUP_READS[self.warmup]

    @property
    def watches(self) -> bool:
        """Its turns depend on the run (a monitored metric), not on a plan."""
        return "monitor" in self.params


WARMUP_READS = {"added": ("warmup_epochs", "warmup_steps", "warmup_start_factor"), "own": (),
                "rise": ("warmup_epochs", "warmup_steps")}
SCHEDULES = {
    "step": ScheduleKind(False, ("step_size", "gamma")),
    "multistep": ScheduleKind(False, ("milestones", "gamma")),
    "exponential": ScheduleKind(False, ("gamma",)),
    "cosine": ScheduleKind(True, ("min_lr",), ends_at_min_lr=True),
    "cosine_epoch": ScheduleKind(False, ("min_lr",), ends_at_min_lr=True),
    "onecycle": ScheduleKind(True, ("pct_start", "div_factor", "final_div_factor"), warmup="own",
                             warmup_rule="one-cycle has its own warm-up (pct_start)"),
    "plateau": ScheduleKind(False, ("factor", "patience", "monitor", "min_lr")),
    "noam": ScheduleKind(True, (), warmup="rise", warmup_rule="noam rises for its warm-up, then falls as 1/sqrt(step)"),
}
SCHEDULE_KINDS = tuple(SCHEDULES)
CLIP_MODES = ("norm", "value")
DECAY_MODES = ("decoupled", "coupled")
MONITORS = ("val_loss", "val_accuracy", "val_bits_per_char", "val_mae", "val_rmse", "val_mase")
MONITOR_MODES = ("auto", "min", "max")
PRECISION_DTYPES = ("auto", "bf16", "fp16")


@dataclass(frozen=True)
class BatchNormConfig:
    enabled: bool = _f(True, "BatchNorm after every conv (CNN); per-time-step feature norm between LSTM layers (LSTM)")
    momentum: float = _f(0.1, "running-statistics momentum", gt=0.0, max=1.0)


@dataclass(frozen=True)
class DropoutConfig:
    enabled: bool = _f(True, "Dropout after hidden FC layers (CNN); between LSTM layers and on its output (LSTM)")
    p: float = _f(0.2, "probability of zeroing a unit", min=0.0, max=0.95)


@dataclass(frozen=True)
class LRScheduleConfig:
    enabled: bool = _f(True, "off = constant learning rate")
    kind: str = _f("cosine", f"{', '.join(k for k, s in SCHEDULES.items() if not s.per_batch and not s.watches)} (per "
                             f"epoch); {', '.join(k for k, s in SCHEDULES.items() if s.per_batch)} (per batch); "
                             f"{', '.join(k for k, s in SCHEDULES.items() if s.watches)} (per epoch, on the monitored "
                             "metric)", choices=SCHEDULE_KINDS)
    warmup_epochs: float = _f(0.0, "linear warm-up length in epochs, applied per batch (not "
                                   "with onecycle); noam: its warm-up", min=0.0)
    warmup_steps: int = _f(0, "warm-up length in optimizer steps instead of epochs (0 = use warmup_epochs)", min=0)
    warmup_start_factor: float = _f(0.1, "warm-up starts at lr * this factor", gt=0.0, max=1.0)
    step_size: int = _f(10, "step: epochs between decays", min=1)
    milestones: tuple[float, ...] = _f((0.5, 0.75), "multistep: where the LR is multiplied by gamma, as fractions of "
                                                    "the run's epochs (He et al.'s ResNets: at 50 % and 75 %)",
                                       gt=0.0, max=1.0)
    gamma: float = _f(0.5, "step, multistep, exponential: decay factor", gt=0.0, max=1.0)
    min_lr: float = _f(0.0, "cosine, cosine_epoch: final LR (eta_min); plateau: floor", min=0.0)
    pct_start: float = _f(0.3, "onecycle: fraction of steps spent rising", gt=0.0, max=1.0)
    div_factor: float = _f(25.0, "onecycle: initial LR = lr / div_factor", gt=0.0)
    final_div_factor: float = _f(1e4, "onecycle: final LR = initial / final_div_factor", gt=0.0)
    factor: float = _f(0.5, "plateau: LR multiplier on a plateau", gt=0.0, max=1.0)
    patience: int = _f(3, "plateau: epochs without improvement before reducing", min=0)
    monitor: str = _f("val_loss", "plateau: metric to watch", choices=MONITORS)


@dataclass(frozen=True)
class GradClipConfig:
    enabled: bool = _f(True, "clip gradients (the pre-clip norm is measured either way)")
    mode: str = _f("norm", "norm: rescale by global L2 norm; value: clamp each element", choices=CLIP_MODES)
    threshold: float = _f(1.0, "max global norm (norm) or max absolute value (value)", gt=0.0)


@dataclass(frozen=True)
class WeightDecayConfig:
    enabled: bool = _f(True, "decay weights towards zero")
    value: float = _f(1e-2, "decay coefficient", min=0.0, max=1.0)
    mode: str = _f("decoupled", "decoupled: p -= lr*value*p (AdamW-style); coupled: L2 term added to the gradient",
                   choices=DECAY_MODES)
    exclude_bias_and_norm: bool = _f(True, "leave biases and normalisation weights undecayed")


@dataclass(frozen=True)
class EarlyStoppingConfig:
    enabled: bool = _f(True, "stop when the monitored metric stops improving")
    monitor: str = _f("auto", "metric to watch (auto: the task's own: val_loss for classes, "
                              "val_bits_per_char for text, val_mae for a series)", choices=("auto", *MONITORS))
    mode: str = _f("auto", "min or max (auto: min for losses, max for accuracy)", choices=MONITOR_MODES)
    patience: int = _f(8, "epochs without improvement before stopping", min=1)
    min_delta: float = _f(0.0, "smallest change that counts as an improvement", min=0.0)
    restore_best: bool = _f(True, "end with the best weights (also when the last epoch is reached)")


@dataclass(frozen=True)
class MixedPrecisionConfig:
    enabled: bool = _f(False, "autocast the forward pass to 16-bit floats")
    dtype: str = _f("auto", "auto: bf16 where supported, else fp16 with a GradScaler", choices=PRECISION_DTYPES)
    grad_scaler: bool = _f(True, "fp16: scale the loss so that small gradients do not underflow to zero (false "
                                 "only to see what it prevents)")


@dataclass(frozen=True)
class AugmentConfig:
    enabled: bool = _f(False, "images: random crop with padding and horizontal flip, drawn per sample on "
                              "the device for the whole batch")
    crop_padding: int = _f(4, "pad each side by this many pixels, then crop back to the image size at "
                              "a random offset (0 = no crop)", min=0, max=64)
    flip: bool = _f(True, "mirror half of the images left to right (not applied to digits, where a "
                          "mirror image is another symbol)")


@dataclass(frozen=True)
class LabelSmoothingConfig:
    enabled: bool = _f(False, "classification: aim at 1 - epsilon for the true class, the rest "
                              "spread evenly over all classes")
    epsilon: float = _f(0.1, "the share of the target moved off the true class", gt=0.0, max=0.5)


@dataclass(frozen=True)
class EmaConfig:
    enabled: bool = _f(False, "validate, early-stop, keep (best.pt) and test an exponential moving "
                              "average of the weights, updated after every step")
    decay: float = _f(0.999, "the average keeps this share of itself at each step: it "
                             "remembers about 1 / (1 - decay) steps",
                      gt=0.0, max=0.99999)
    warmup: bool = _f(True, "the n-th update uses min(decay, (1 + n) / (10 + n)), so the first "
                            "steps' weights fade fast (false: decay from the first step, which a run of fewer than "
                            "about 1 / (1 - decay) steps cannot outlive)")


def _trick(cls: type, title: str, code: str, *, switch: str, explain: str, panel: tuple[str, ...] | None = None) -> Any:
    """A trick's field of :class:`TricksConfig`. ``panel``: the settings the app shows under its
    checkbox (default: all of them)."""
    shown = tuple(f.name for f in fields(cls) if f.name != "enabled") if panel is None else panel
    return field(default_factory=cls,
                 metadata={"trick": {"title": title, "code": code, "switch": switch, "explain": explain,
                                                          "panel": shown}})


@dataclass(frozen=True)
class TricksConfig:
    batchnorm: BatchNormConfig = _trick(
        BatchNormConfig, "BatchNorm", "BN", panel=(),
        switch="Switch BatchNorm on or off.",
        explain=(
            "Normalises each channel (CNN) or each time step's features (LSTM) over the batch, then rescales them "
            "with learned weights. It lets larger learning rates train stably and early epochs move faster. "
            "Watch: loss falls sooner; validation can be noisier with small batches, since eval uses running "
            "averages."
        ),
    )
    dropout: DropoutConfig = _trick(
        DropoutConfig, "Dropout", "DO",
        switch="Switch Dropout on or off.",
        explain=(
            "Zeroes a random fraction p of units while training (never in eval) and scales the rest, so the "
            "network cannot lean on single units. It fights overfitting. In an LSTM it sits between layers and on "
            "the output (and, for text, on the embeddings). PyTorch's own nn.LSTM(dropout=0.3), as the lesson "
            "writes it, acts only between stacked layers: on one layer it does nothing (PyTorch warns). This "
            "switch never is a no-op: one layer still gets dropout on its input and output. Watch: training loss "
            "sits higher and noisier, while the gap to validation loss shrinks."
        ),
    )
    lr_schedule: LRScheduleConfig = _trick(
        LRScheduleConfig, "LR schedule", "LR",
        switch="Switch the LR schedule on or off (off = constant LR).",
        explain=(
            "Changes the learning rate over the run: decay lets the model settle into a minimum after fast early "
            "progress; warm-up starts small so early, large gradients do not wreck the weights. Step, multistep "
            "(drops at set fractions of the run, as ResNets were trained) and exponential move per epoch, cosine "
            "and one-cycle per batch, plateau when validation stalls; noam "
            "rises for its warm-up, then falls as 1/sqrt(step), as Transformers were first trained. Watch the LR "
            "curve and the loss bend with it."
        ),
    )
    grad_clip: GradClipConfig = _trick(
        GradClipConfig, "Gradient clipping", "GC",
        switch="Switch gradient clipping on or off.",
        explain=(
            "Caps the gradient before the step: by the global norm (rescales the whole gradient) or by value "
            "(clamps each element). It keeps one bad batch from throwing the weights far away, above all in "
            "LSTMs. Watch the |g| curve against the threshold: clipping acts on every step above it."
        ),
    )
    weight_decay: WeightDecayConfig = _trick(
        WeightDecayConfig, "Weight decay", "WD",
        switch="Switch weight decay on or off.",
        explain=(
            "Pulls weights towards zero each step, a preference for small weights that often generalises better. "
            "Decoupled (AdamW) shrinks weights directly; coupled adds an L2 term to the gradient, which Adam then "
            "rescales, weakening it. Biases and norm weights are left alone. Watch: validation loss, over long "
            "runs."
        ),
    )
    early_stopping: EarlyStoppingConfig = _trick(
        EarlyStoppingConfig, "Early stopping", "ES",
        switch="Switch early stopping on or off.",
        explain=(
            "Ends the run when the monitored validation metric has not improved by min_delta for `patience` "
            "epochs, and can restore the best epoch's weights. It saves time and keeps the weights from before "
            "overfitting set in. Watch the patience counter climb after the best epoch."
        ),
    )
    mixed_precision: MixedPrecisionConfig = _trick(
        MixedPrecisionConfig, "Mixed precision", "MP", panel=("dtype",),
        switch="Switch mixed precision (autocast) on or off.",
        explain=(
            "Runs the forward pass in 16-bit floats with autocast: bf16 where supported, else fp16 with a "
            "GradScaler that keeps small gradients from vanishing. On GPUs it is faster and uses less memory for "
            "about the same accuracy. Watch samples/s; the loss should look like fp32's."
        ),
    )
    augment: AugmentConfig = _trick(
        AugmentConfig, "Augmentation", "AU",
        switch="Switch augmentation (random crop with padding, horizontal flip; images only) on or off.",
        explain=(
            "Shows the model a slightly different picture each epoch: shifted by up to crop_padding pixels (pad, "
            "then crop back at a random place) and, for half the images, mirrored left to right. The model cannot "
            "memorise exact pixels, so it overfits later. Flips are left out for digits, where a mirror image is "
            "another symbol. Images only. Watch: training loss sits higher, validation loss keeps falling for "
            "longer."
        ),
    )
    label_smoothing: LabelSmoothingConfig = _trick(
        LabelSmoothingConfig, "Label smoothing", "LS",
        switch="Switch label smoothing of the cross-entropy on or off.",
        explain=(
            "Trains towards 1 - epsilon for the true class instead of a hard 1, spreading epsilon over all "
            "classes, so the model stops pushing its logits ever further apart and is less over-confident. The "
            "training loss cannot reach 0 any more; validation and test losses are plain cross-entropy, so runs "
            "compare. Watch: validation loss, and test accuracy."
        ),
    )
    ema: EmaConfig = _trick(
        EmaConfig, "Weight averaging (EMA)", "EM",
        switch="Switch the moving average of the weights (EMA) on or off.",
        explain=(
            "Keeps an exponential moving average of the weights beside the weights the optimizer moves, and "
            "validates, early-stops, saves best.pt and tests the average. The last steps' noise, from the batches "
            "and a high learning rate, averages out, much as a lower LR at the end would, without slowing "
            "training. The optimizer never sees the average. Watch: validation loss, smoother and often lower "
            "late in a run; early on the average lags behind the weights (the warm-up shortens that)."
        ),
    )


@dataclass(frozen=True)
class Trick:
    """Everything an interface needs to show one trick."""

    name: str  # its key under [tricks]
    title: str  # in the app and the docs
    code: str  # two letters, in `runs list`
    switch: str  # the help of --X/--no-X
    explain: str  # why it exists and what to watch
    panel: tuple[str, ...]  # the settings the app shows under its checkbox
    help: str  # what its `enabled` switch does

    @property
    def flag(self) -> str:
        """``label_smoothing`` → ``label-smoothing``, as in ``--label-smoothing/--no-label-smoothing``."""
        return self.name.replace("_", "-")


def _tricks() -> dict[str, Trick]:
    out = {}
    for f in fields(TricksConfig):
        meta = f.metadata["trick"]
        enabled = next(g for g in fields(f.default_factory) if g.name == "enabled")
        out[f.name] = Trick(f.name, meta["title"], meta["code"], meta["switch"], meta["explain"], meta["panel"],
                            enabled.metadata["help"])
    return out


#: Every trick, in the order of the app's panel and of ablations.
TRICKS: dict[str, Trick] = _tricks()
TRICK_NAMES = tuple(TRICKS)
#: The tricks that act inside a model: a user's factory gets each as an argument of that name, where it takes one.
MODEL_TRICKS = ("batchnorm", "dropout")


def monitor_mode(monitor: str, mode: str) -> str:
    """Resolve ``auto``: losses are minimised, accuracies maximised."""
    if mode != "auto":
        return mode
    return "max" if monitor.endswith("accuracy") else "min"
