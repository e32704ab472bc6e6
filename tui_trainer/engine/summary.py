"""What a run says of itself at its start (:func:`run_started`: model, data, tricks, baselines),
at each epoch's end (:func:`epoch_ended`), and in ``summary.json`` at its end (:func:`run_summary`:
how it ended, its best and test scores, the task's headline metric, its speed and set-up, and
(classification) the test confusion matrix)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable

import torch

from ..models import count_parameters, describe, model_notes
from ..models.python import is_own, own_factory, refused_tricks
from ..usercode.record import code_record
from .events import EpochEnded, RunEnded, RunStarted
from .health import not_learning
from .optim import weight_norm
from .outcome import Outcome
from .schedule import milestones
from .state import RunState
from .task import flip_note

if TYPE_CHECKING:
    from ..config import Config
    from .events import Event
    from .parts import Parts, Setup
    from .store import RunStore


def run_started(setup: Setup, parts: Parts, state: RunState, run_dir: str | None) -> RunStarted:
    cfg, tricks, data = setup.config, setup.config.tricks, setup.data
    return RunStarted(
        preset=cfg.name, run_dir=run_dir,
        device=str(setup.device), precision=setup.precision.name, threads=setup.threads,
        parameters=count_parameters(parts.model), model=describe(parts.model),
        train_size=len(data.train), val_size=len(data.val), test_size=len(data.test),
        batch_size=cfg.train.batch_size, steps_per_epoch=setup.steps_per_epoch, epochs=cfg.train.epochs,
        start_epoch=state.epochs_run, tricks=cfg.tricks_on(),
        clip_threshold=tricks.grad_clip.threshold if tricks.grad_clip.enabled else None,
        patience=tricks.early_stopping.patience if tricks.early_stopping.enabled else None,
        start_step=state.global_step, dataset=data.spec.name, input_shape=list(data.spec.input_shape),
        data_mode=data.mode, data_detail=data.mode_detail,
        notes=[*data.notes, *filter(None, [flip_note(data, cfg)]), *model_notes(cfg), *distributed_notes(setup)],
        tokens_per_sample=setup.tokens_per_sample, baselines=data.baselines, processes=setup.dist.world_size,
        clip_mode=tricks.grad_clip.mode, schedule=tricks.lr_schedule.kind if tricks.lr_schedule.enabled else "",
        lr_marks=[list(m) for m in milestones(tricks.lr_schedule, cfg.train.epochs, setup.steps_per_epoch)],
        refused_tricks=sorted(refused_tricks(own_factory(cfg)[1])) if is_own(cfg) else [],
    )


def epoch_ended(setup: Setup, parts: Parts, state: RunState, metrics: dict[str, float]) -> EpochEnded:
    """The epoch's line: its losses over every process's steps, the LR it ended at (steered: as the
    steps used it, the optimizer's ``lr_scale`` included)."""
    seconds = state.epoch_train_seconds
    mine = torch.tensor([sum(state.epoch_losses), len(state.epoch_losses)], dtype=torch.float64)
    losses = setup.dist.all_sum(mine).tolist()
    return EpochEnded(
        epoch=state.epochs_run, train_loss=losses[0] / max(1, losses[1]),
        val_loss=metrics["val_loss"], val_accuracy=metrics.get("val_accuracy"),
        metrics={k: v for k, v in metrics.items() if k != "val_loss"},
        lr=parts.optim.optimizer.param_groups[0]["lr"] * parts.optim.lr_scale,
        seconds=time.perf_counter() - state.epoch_started - state.epoch_paused,
        samples_per_second=setup.epoch_samples / seconds if seconds > 0 else 0.0,
        tokens_per_second=setup.epoch_samples * setup.tokens_per_sample / seconds if seconds > 0 else 0.0,
        clipped_steps=state.epoch_clipped, steps=state.epoch_steps, weight_norm=weight_norm(parts.optim.params),
        wall_seconds=state.wall_seconds(),
    )


def record_failure(config: Config, folder: RunStore | None, emit: Callable[[Event], None], exc: BaseException) -> None:
    """A run ended by an exception still leaves a summary (``stopped`` for a KeyboardInterrupt,
    ``failed`` otherwise) and a RunEnded event, where they can be written; the exception is the
    one to report, so errors here are swallowed."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    status = "stopped" if interrupted else "failed"
    reason = "interrupted (KeyboardInterrupt)" if interrupted else f"{type(exc).__name__}: {exc}"
    summary = {"preset": config.name, "status": status, "reason": reason,
               "run_dir": str(folder.path) if folder is not None else None,
               "wall_seconds": None, "train_samples_per_second": None}  # not measured: the run ended first
    try:
        if folder is not None:
            folder.write_summary(summary)
        emit(RunEnded(status=status, reason=reason, summary=summary))
    except Exception:
        pass
    finally:
        if folder is not None:
            try:
                folder.close()
            except Exception:
                pass


def distributed_notes(setup: Setup) -> list[str]:
    """How a run over several processes shares its work, said at its start."""
    dist, cfg = setup.dist, setup.config
    if not dist.enabled:
        return []
    bs, n = cfg.train.batch_size, len(setup.data.train)
    notes = [f"{dist.world_size} processes ({dist.backend}): global batch {bs} = "
             f"{dist.world_size} × {dist.local_batch(bs)}; the step losses shown are process 0's share, epoch losses "
             "and validation cover every process"]
    if n % bs:
        notes.append(f"full global batches only: {n % bs} of the {n:,} samples sit out each "
                     "epoch (a new draw each epoch)")
    if cfg.tricks.batchnorm.enabled and cfg.model.kind != "transformer":
        notes.append("BatchNorm over the global batch (SyncBatchNorm)" if cfg.distributed.sync_batchnorm
                     else "BatchNorm on each process's own batch (distributed.sync_batchnorm = false); "
                          "running statistics from process 0")
    return notes


def run_summary(setup: Setup, parts: Parts, state: RunState, outcome: Outcome, test: dict[str, float], restored: bool,
                confusion: torch.Tensor | None, run_dir: str | None) -> dict[str, Any]:
    finite = math.isfinite(test["test_loss"])
    data = setup.data
    rate = state.samples / state.train_seconds if state.train_seconds > 0 else 0.0
    summary = {
        "preset": setup.config.name,
        "status": outcome.status,
        "reason": outcome.reason,
        "epochs_run": state.epochs_run,
        "steps": state.global_step,
        "skipped_steps": dict(state.skipped),
        "best_epoch": parts.early.best_epoch or None,
        "best_val_loss": state.best_metrics.get("val_loss"),
        "best_val_accuracy": state.best_metrics.get("val_accuracy"),
        "best_val_metrics": {k: v for k, v in state.best_metrics.items() if k != "val_loss"},
        "weights": "best" if restored else "last",
        "test_loss": test["test_loss"] if finite else None,
        "test_accuracy": test.get("test_accuracy") if finite else None,
        "wall_seconds": state.wall_seconds(),
        "train_samples_per_second": rate,
        "train_tokens_per_second": rate * setup.tokens_per_sample,
        "device": str(setup.device),
        "precision": setup.precision.name,
        "threads": setup.threads,
        "tricks": setup.config.tricks_on(),
        "run_dir": run_dir,
        "torch": str(torch.__version__),
        "headline": f"test_{parts.task.headline}", "headline_mode": parts.task.headline_mode,
        "test_metrics": {k: v for k, v in test.items() if k != "test_loss"} if finite else {},
    }
    if data.baselines:
        summary["baselines"] = data.baselines
    if code := code_record(setup.config):  # the user's own code it ran: where, and its file's hash
        summary["code"] = code
    if setup.dist.enabled:
        summary["processes"] = setup.dist.world_size
    if warnings := not_learning(parts.task, summary, data):
        summary["warnings"] = warnings
    if confusion is not None and finite:  # rows: true class, columns: predicted
        summary["confusion"] = {"classes": list(data.spec.classes), "counts": confusion.tolist()}
    return summary
