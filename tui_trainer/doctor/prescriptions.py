"""A prescription for each finding: the change of settings (as a config override, and as typed
after ``tui-trainer train PRESET``), what it should move, and the lab that measured that trick on
that symptom. The change is read from the run's own settings where its folder has them (the LR
ten times lower than the run's, the patience doubled), else from what its events show."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..config.schema import ModelConfig
from ..config.tricks import TRICKS
from .findings import Finding, Prescription
from .learning import accuracy_kept, lr_too_low, small_model
from .measured import lab_says
from .stability import exploding_gradients, lr_too_high
from .thresholds import FEW_EPOCHS, TINY_UPDATE, WIDEN
from .trace import Trace


def typed(overrides: dict[str, Any]) -> str:
    """``--dropout --set tricks.weight_decay.value=0.01 --lr 0.0003``: a change as it is typed."""
    words = []
    for key, value in overrides.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "tricks" and parts[2] == "enabled" and parts[1] in TRICKS:
            words.append(f"--{'' if value else 'no-'}{TRICKS[parts[1]].flag}")
        elif key in ("train.lr", "train.epochs"):
            words.append(f"--{parts[1]} {_number(value)}")
        else:
            words.append(f"--set {key}={_number(value) if isinstance(value, (int, float, list, tuple)) else value}")
    return " ".join(words)


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return f"[{','.join(_number(v) for v in value)}]"  # no spaces: one word in a shell
    return f"{value:.2g}" if isinstance(value, float) else str(value)


def _lr(trace: Trace) -> float | None:
    if trace.config is not None:
        return trace.config.train.lr
    finite = [lr for lr in trace.lr if math.isfinite(lr)]
    return max(finite) if finite else None


def _on(trace: Trace, trick: str) -> bool | None:
    """Whether the run had ``trick`` on: its settings, else its start event; None when unknown."""
    if trace.config is not None:
        return getattr(trace.config.tricks, trick).enabled
    return trick in trace.started.tricks if trace.started is not None else None


def _can(trace: Trace, trick: str) -> bool:
    """Whether the run's model can take ``trick`` (a user's factory may take no argument for it)."""
    return trace.started is None or trick not in trace.started.refused_tricks


def _scaled_lr(trace: Trace, factor: float) -> dict[str, Any]:
    lr = _lr(trace)
    return {"train.lr": float(f"{lr * factor:.2g}")} if lr else {}


def _regularise(trace: Trace) -> dict[str, Any]:
    """Over-fitting: where a classifier's validation accuracy held while its loss rose, label smoothing
    (the loss rises from over-confident predictions; early stopping on the loss would keep an epoch before the
    accuracy's best); else early stopping where it is off, and dropout, else more weight decay."""
    if accuracy_kept(trace) is not None and _on(trace, "label_smoothing") is False:
        return {"tricks.label_smoothing.enabled": True}
    change: dict[str, Any] = {}
    if _on(trace, "early_stopping") is False:
        change["tricks.early_stopping.enabled"] = True
    if _on(trace, "dropout") is False and _can(trace, "dropout"):
        change["tricks.dropout.enabled"] = True
    elif _on(trace, "weight_decay") is False:
        change["tricks.weight_decay.enabled"] = True
    elif trace.config is not None:
        change["tricks.weight_decay.value"] = min(0.5, trace.config.tricks.weight_decay.value * 10)
    return change


def _clip(trace: Trace) -> dict[str, Any]:
    """Exploding gradients: clipping at 1 where it is off, and where the loss itself spiked or diverged
    too, the LR ten times lower as well, as for an LR too high (clipping bounds a step's length, not
    the LR that made the run unstable); else, clipped already, the LR three times lower."""
    if _on(trace, "grad_clip") is False:
        clip = {"tricks.grad_clip.enabled": True, "tricks.grad_clip.threshold": 1.0}
        return {**clip, **_scaled_lr(trace, 0.1)} if lr_too_high(trace) else clip
    return _scaled_lr(trace, 1 / 3)


def _clip_at_median(trace: Trace) -> dict[str, Any]:
    norms = sorted(norm for _, _, norm in trace.finite_steps())
    return {"tricks.grad_clip.threshold": float(f"{norms[len(norms) // 2]:.2g}")} if norms else {}


def _patience(trace: Trace) -> dict[str, Any]:
    last = trace.patience[max(trace.patience)] if trace.patience else None
    return {"tricks.early_stopping.patience": 2 * last.patience} if last else {}


def _epochs(trace: Trace) -> dict[str, Any]:
    return {"train.epochs": 2 * trace.planned_epochs}


def _norm(trace: Trace) -> dict[str, Any]:
    return {"tricks.batchnorm.enabled": True} if _on(trace, "batchnorm") is False and _can(trace, "batchnorm") else {}


def _revive(trace: Trace) -> dict[str, Any]:
    """Dead ReLUs: BatchNorm before them where the model has it off (it keeps their inputs centred),
    else an LR three times lower (the large steps that pushed their inputs below zero)."""
    return (_norm(trace) if _recurrent(trace) is False else {}) or _scaled_lr(trace, 1 / 3)


def _desaturate(trace: Trace) -> dict[str, Any]:
    """Saturated tanh: a plain RNN's cell made an LSTM (its gates keep the gradient alive), else
    BatchNorm where it is off in a model that is not recurrent, else an LR three times lower."""
    model = trace.config.model if trace.config is not None else None
    if model is not None and model.kind == "lstm" and model.lstm.cell == "rnn":
        return {"model.lstm.cell": "lstm"}
    return _revive(trace)


def _recurrent(trace: Trace) -> bool | None:
    if trace.config is not None:
        return trace.config.model.kind == "lstm"
    lines = trace.started.model if trace.started is not None else None
    return None if lines is None else any(w in line for line in lines for w in ("LSTM", "GRU", "RNN"))


def _barely_moved(trace: Trace) -> bool:
    """The weights' norm moved less than TINY_UPDATE an epoch: the steps are an order too small."""
    moved = trace.weight_motion()
    return moved is not None and moved < TINY_UPDATE


def _out_of_chance(trace: Trace) -> dict[str, Any]:
    """A model at chance: a higher LR where the loss still falls steadily, more epochs where the run
    is too short to tell, else a lower LR (what diverging and spiking models at chance need)."""
    if lr_too_low(trace):
        return _scaled_lr(trace, 10.0 if _barely_moved(trace) else 3.0)
    if lr_too_high(trace) or exploding_gradients(trace):
        return _scaled_lr(trace, 0.1)
    if len(trace.epochs) < FEW_EPOCHS:
        return {"train.epochs": max(FEW_EPOCHS, 2 * trace.planned_epochs)}
    return _scaled_lr(trace, 0.1)


def wider(model: ModelConfig, factor: int) -> dict[str, Any]:
    """Every width of ``model`` ``factor`` times: a CNN's blocks and hidden layer, a ResNet's stages, a
    recurrent model's hidden units, a Transformer's d_model (its heads still divide it)."""
    if model.kind == "cnn":
        change: dict[str, Any] = {"model.cnn.channels": [c * factor for c in model.cnn.channels]}
        if model.cnn.fc_hidden:
            change["model.cnn.fc_hidden"] = model.cnn.fc_hidden * factor
        return change
    if model.kind == "resnet":
        return {"model.resnet.widths": [w * factor for w in model.resnet.widths]}
    if model.kind == "lstm":
        return {"model.lstm.hidden_size": model.lstm.hidden_size * factor}
    if model.kind == "transformer":
        return {"model.transformer.d_model": model.transformer.d_model * factor}
    return {}


def _unstick(trace: Trace) -> dict[str, Any]:
    """A plateau: a model smaller than its data made WIDEN times wider (its capacity is what holds it
    back), else the LR three times higher."""
    if trace.config is not None and small_model(trace):
        return wider(trace.config.model, WIDEN) or _scaled_lr(trace, 3.0)
    return _scaled_lr(trace, 3.0)


def _fixed(change: dict[str, Any]) -> Callable[[Trace], dict[str, Any]]:
    return lambda trace: dict(change)


#: finding -> (the change, what it should move, the lab that measured it)
MENU: dict[str, tuple[Callable[[Trace], dict[str, Any]], str, str | None]] = {
    "lr_too_high": (lambda t: _scaled_lr(t, 0.1), "a loss that descends without spikes or divergence", "batchnorm-lr"),
    "collapse": (lambda t: _out_of_chance(t), "accuracy off chance: the model starts to learn", "batchnorm-lr"),
    "exploding_gradients": (_clip, "the spikes in the gradient norm and the loss", "rnn-clipping"),
    "vanishing_gradients": (_norm, "gradient norms that stay up, a training loss that falls", "deep-resnet"),
    "scaler_overflow": (_fixed({"tricks.mixed_precision.dtype": "bf16"}), "no skipped steps (bf16 has fp32's range)",
                        "mixed-precision"),
    "dead_relu": (_revive, "fewer dead units on the probe, a lower loss", "batchnorm-lr"),
    "saturated": (_desaturate, "fewer saturated outputs on the probe, gradients that reach the first steps",
                  "rnn-vs-cnn-gradients"),
    "overfitting": (_regularise, "the validation loss's rise, and a lower best validation loss", "overfitting"),
    "early_stopping_absent": (_fixed({"tricks.early_stopping.enabled": True}),
                              "the kept weights: the best epoch's, not the last", "early-stopping"),
    "plateau": (_unstick, "the training loss off its plateau (or try tui-trainer lr-find)", None),
    "lr_too_low": (lambda t: _scaled_lr(t, 10.0 if _barely_moved(t) else 3.0),
                   "a lower loss in the same epochs (or try tui-trainer lr-find)", None),
    "schedule_too_short": (_epochs, "a lower best validation loss, reached before the LR's floor", "lr-schedules"),
    "schedule_absent": (_fixed({"tricks.lr_schedule.enabled": True, "tricks.lr_schedule.kind": "cosine"}),
                        "a lower best validation loss, the late epochs settling", "constant-lr"),
    "early_stopping_eager": (_patience, "a later stop and a lower best validation loss", "early-stopping"),
    "clipping_every_step": (_clip_at_median, "faster convergence: clipping only the large steps", "clip-threshold"),
    "weights_growing": (_fixed({"tricks.weight_decay.enabled": True}), "a weight norm that levels off",
                        "weight-decay-l2"),
    "rnn_without_clipping": (_fixed({"tricks.grad_clip.enabled": True}), "no gradient spikes", "rnn-clipping"),
    "batchnorm_in_rnn": (_fixed({"tricks.batchnorm.enabled": False}), "steadier validation across sequences", None),
    "inner_dropout_noop": (_fixed({"model.lstm.inner_dropout": 0.0}), "nothing: it says what the model does", None),
    "cnn_without_batchnorm": (_fixed({"tricks.batchnorm.enabled": True}), "a higher usable LR, faster training",
                              "batchnorm-lr"),
    "long_run_no_schedule": (_fixed({"tricks.lr_schedule.enabled": True}), "a lower loss late in the run",
                             "constant-lr"),
    "no_early_stopping": (_fixed({"tricks.early_stopping.enabled": True}), "the best epoch's weights kept",
                          "early-stopping"),
}


#: A change that the finding's lab did not measure, with what it moves instead and the lab that did (None: none).
WIDER = ("a lower training loss: room for more of what the data hold", None)
OWN: dict[str, tuple[str, str | None]] = {
    "tricks.label_smoothing.enabled": ("a lower validation loss at the same accuracy or better: softer predictions",
                                       None),
    "model.cnn.channels": WIDER, "model.resnet.widths": WIDER, "model.lstm.hidden_size": WIDER,
    "model.transformer.d_model": WIDER}


def _word(key: str) -> str:
    """What a lab's verdict line calls the setting ``key``: ``tricks.weight_decay.value`` -> "weight decay"."""
    parts = key.split(".")
    if parts[0] == "tricks":
        return {"batchnorm": "BatchNorm", "grad_clip": "clip", "lr_schedule": "schedule"}.get(
            parts[1], parts[1].replace("_", " "))
    return parts[-1]


def prescribe(finding: Finding, trace: Trace, runs_dir: Path | str | None = None) -> Finding:
    """``finding`` with its prescription, where the menu has one that changes something for this run."""
    if finding.name not in MENU:
        return finding
    make, moves, lab = MENU[finding.name]
    change = make(trace)
    if not change:
        return finding
    for key, (own_moves, own_lab) in OWN.items():
        if key in change:
            moves, lab = own_moves, own_lab
    words = tuple(_word(key) for key in change)
    said = (lab_says(lab, runs_dir, words) or "no result of it yet") if lab else "no lab of this tool measured this"
    return replace(finding, prescription=Prescription(change, typed(change), moves, lab, said))
