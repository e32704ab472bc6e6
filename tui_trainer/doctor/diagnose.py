"""The doctor's examination: every check on a run's trace, the findings in order of how much they
explain (a divergence before the plateau it leaves behind), each with its prescription, and the
settings' own findings (the lesson's rules) after them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..runs.catalog import load_run
from . import activations, learning, rules, stability
from .findings import Diagnosis, Finding
from .prescriptions import prescribe
from .trace import Trace, read_trace

#: The checks, the most explaining first: a finding found earlier comes first in the list.
CHECKS = (stability.lr_too_high, stability.collapse, stability.exploding_gradients, stability.vanishing_gradients,
          stability.scaler_overflow, activations.dead_relu, activations.saturated, learning.overfitting,
          learning.early_stopping_absent, learning.plateau,
          learning.lr_too_low, learning.schedule_too_short, learning.early_stopping_eager, learning.schedule_absent,
          stability.clipping_every_step, stability.weights_growing)
#: Findings that a finding explains, left out beside it: a model at chance is also on a plateau.
EXPLAINS = {"lr_too_high": {"plateau", "lr_too_low"}, "collapse": {"plateau"}, "vanishing_gradients": {"plateau"},
            "dead_relu": {"plateau"}, "saturated": {"plateau"},
            "overfitting": {"lr_too_low"},  # a training loss that falls as it memorises is no slow run
            "schedule_absent": {"lr_too_low"}}  # a validation loss that bounces at a constant LR needs less LR
#: Findings that are the cause of another, put before it: an LR so low the model is still at chance;
#: gradients that explode with no clipping, under a loss that jumps.
CAUSES = {"collapse": ("lr_too_low", "vanishing_gradients", "clipping_every_step", "dead_relu", "saturated"),
          "lr_too_high": ("exploding_gradients",)}
TITLES = {"lr_too_high": "learning rate too high", "collapse": "collapse to chance or one class",
          "exploding_gradients": "exploding gradients", "vanishing_gradients": "vanishing gradients",
          "scaler_overflow": "mixed-precision overflow", "dead_relu": "dead ReLUs",
          "saturated": "saturated activations", "overfitting": "over-fitting",
          "early_stopping_absent": "early stopping off on a run that over-fits", "plateau": "a plateau (under-fitting)",
          "lr_too_low": "learning rate too low", "schedule_too_short": "a schedule that ended too early",
          "schedule_absent": "a constant LR that stalls", "early_stopping_eager": "early stopping too eager",
          "clipping_every_step": "clipping on every step", "weights_growing": "weights growing without bound"}
NOT_PROBED = ("no activation readings (train.activations_every = 0, a model with no ReLU, tanh or sigmoid layer "
              "to hook, or a run from before the doctor read them)")


def diagnose(trace: Trace, runs_dir: Path | str | None = None, settings: bool = True) -> Diagnosis:
    """Every check on ``trace``; ``settings``: the lesson's rules on its config too (where it has one)."""
    found: list[Finding] = [f for check in CHECKS if (f := check(trace)) is not None]
    explained = {name for f in found for name in EXPLAINS.get(f.name, ())}
    found = [f for f in found if f.name not in explained]
    for effect, causes in CAUSES.items():
        for cause in causes:
            names = [f.name for f in found]
            if effect in names and cause in names and names.index(cause) > names.index(effect):
                if effect == "lr_too_high" and found[names.index(cause)].severity != "warning":
                    continue  # clipped already: the LR is what to change
                moved = found.pop(names.index(cause))
                found.insert(names.index(effect), replace(moved, severity="warning"))
    found.sort(key=lambda f: f.severity != "warning")  # stable: the checks' order within each severity
    found = [prescribe(f, trace, runs_dir) for f in found]
    for effect, causes in CAUSES.items():  # an effect is treated by treating its cause, where it came first
        names = [f.name for f in found]
        cause = next((f for f in found if f.name in causes and f.prescription is not None and effect in names
                      and names.index(f.name) < names.index(effect)), None)
        found = [replace(f, prescription=cause.prescription) if f.name == effect and cause else f for f in found]
    probed = bool(trace.activations)
    checked = [TITLES[check.__name__] for check in CHECKS if probed or check not in activations.CHECKS]
    unchecked = "" if probed else f"{', '.join(TITLES[c.__name__] for c in activations.CHECKS)}: {NOT_PROBED}"
    rules_checked: list[str] = []
    if settings and trace.config is not None:
        rules_checked = list(rules.TITLES)
        given = [f.prescription.overrides for f in found if f.prescription is not None]
        for rule in (prescribe(f, trace, runs_dir) for f in rules.settings_findings(trace.config)):
            cure = rule.prescription.overrides.items() if rule.prescription else {}.items()
            if not any(cure <= change.items() for change in given):  # not prescribed above already
                found.append(rule)
    return Diagnosis(found, checked, rules_checked, len(trace.epochs), trace.status, unchecked=unchecked)


def diagnose_config(config: Config, runs_dir: Path | str | None = None) -> list[Finding]:
    """The lesson's rules on settings before a run, each with its prescription."""
    return [prescribe(f, Trace(config=config), runs_dir) for f in rules.settings_findings(config)]


def diagnose_run(path: Path | str, runs_dir: Path | str | None = None) -> Diagnosis:
    """The diagnosis of the run folder ``path``, live or finished; a run whose settings cannot be
    read is diagnosed from its events alone, and says so."""
    run = load_run(path)
    trace = read_trace(run.path, run.config)
    if not trace.summary and run.summary:
        trace.summary = dict(run.summary)  # a run stopped before its end event reached the file
    diagnosis = diagnose(trace, runs_dir)
    if run.config is None:
        diagnosis.unread = f"config.toml unreadable ({run.config_error}): the settings' rules were not checked"
    if not trace.epochs:
        diagnosis.unread = "no epoch has ended yet: the curves cannot be judged"
    return diagnosis
