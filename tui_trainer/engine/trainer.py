"""The training loop, read top to bottom: :meth:`Trainer.run` trains epoch after epoch with
:meth:`~Trainer._train_epoch` (the steps, one visible line per trick) and
:meth:`~Trainer._end_epoch` (validation, schedule, early stopping, checkpoints), then
:meth:`~Trainer._finish` scores the weights kept on the test split and writes the summary.

Nothing in a step calls ``.item()``: step statistics stay in a device buffer
(:class:`~.stats.StepStatsBuffer`) fetched in one transfer every ``train.stats_every`` steps
or about ten times a second; validation metrics are fetched once per epoch. All the loop
counts lives in one :class:`~.state.RunState`; non-finite steps are the business of
:class:`~.nonfinite.NonFinitePolicy`, which says when a run has diverged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ..config import Config, config_to_dict
from ..data import Datasets, load_data
from ..data.spec import Progress, no_progress
from ..models import build_model
from .control import Control
from .early_stopping import EarlyStopping
from .events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    Event,
    RunEnded,
    SampleText,
    StepStats,
)
from .generate import generate_text
from .memory import tune_allocator
from .nonfinite import DIVERGED_HINT, NonFinitePolicy, finite_state
from .optim import apply_sgd_decoupled_decay, build_optimizer, make_clipper
from .precision import SetupError, choose_threads, resolve_device, resolve_precision
from .schedule import LRSchedule
from .state import Outcome, RunState, steps_per_epoch
from .stats import StepStatsBuffer
from .store import RunStore
from .summary import run_started, run_summary
from .task import evaluate, input_pipeline, task_for

Sink = Callable[[Event], None]


@dataclass
class RunResult:
    status: str
    summary: dict[str, Any]
    model: nn.Module
    run_dir: str | None = None
    events: list[Event] = field(default_factory=list)


class Trainer:
    """Trains one preset. ``prepare()`` raises a :class:`~tui_trainer.errors.UserError`
    for anything that cannot work here, before any step runs; ``run()`` trains."""

    def __init__(
        self,
        config: Config,
        *,
        run_folder: RunStore | None = None,
        sinks: Iterable[Sink] = (),
        data: Datasets | None = None,
        progress: Progress = no_progress,
        allow_emulated_bf16: bool = False,
        keep_events: bool = False,
        resume: tuple[dict[str, Any], dict[str, Any] | None] | None = None,
    ):
        """``resume``: ``(last, best)`` checkpoints (see :func:`tui_trainer.runs.resume.load_resume`)
        to continue from, with ``run_folder`` the folder they came from."""
        self.config = config
        self.sinks: list[Sink] = list(sinks)
        self.run_folder: RunStore | None = None
        if run_folder is not None:
            self.attach(run_folder)
        self.data = data
        self.progress = progress  # downloads and decoding while the data loads
        self.allow_emulated_bf16 = allow_emulated_bf16
        self.keep_events = keep_events
        self.events: list[Event] = []
        self.resume = resume
        self.prepared = False

    def attach(self, run_folder: RunStore) -> None:
        """Record the run in ``run_folder``. Its sink comes first, so every event is on disk
        before anything else sees it. Callers attach after :meth:`prepare`, so that a run
        refused here leaves no folder behind."""
        if self.run_folder is not None:
            raise ValueError(f"a run folder is attached already: {self.run_folder.path}")
        self.run_folder = run_folder
        self.sinks.insert(0, run_folder.sink)

    # -- set-up -------------------------------------------------------------------

    def prepare(self) -> None:
        if self.prepared:
            return
        cfg = self.config
        tune_allocator()
        self.device = resolve_device(cfg.train.device)
        self.precision = resolve_precision(cfg, self.device, self.allow_emulated_bf16)
        self.threads = choose_threads(cfg.train.threads)
        torch.set_num_threads(self.threads)
        torch.manual_seed(cfg.train.seed)
        if self.data is None:
            self.data = load_data(cfg.data, self.device, self.progress)
        elif self.data.train.device != self.device:
            self.data = self.data.to(self.device)
        self.task = task_for(self.data.spec.task, cfg, self.data.targets)
        if self.task.name == "language_modelling" and len(self.data.train) < cfg.train.batch_size:
            raise SetupError(f"data.path: {self.data.spec.source} gives {len(self.data.train):,} training sequences of {cfg.data.seq_len} "
                             f"characters, fewer than one batch (train.batch_size = {cfg.train.batch_size}): give more text, or lower "
                             "data.seq_len or train.batch_size")
        self.inputs = input_pipeline(self.data, cfg)  # augment, and images to normalised floats, per batch on the device
        self.model = build_model(self.data.spec, cfg).to(self.device)
        self.optimizer_setup = build_optimizer(self.model, cfg)  # the optimizer, its parameters, SGD's decoupled decay
        self.optimizer = self.optimizer_setup.optimizer
        self.clip = make_clipper(self.optimizer_setup.params, cfg)
        self.steps_per_epoch = steps_per_epoch(len(self.data.train), cfg.train.batch_size)
        self.schedule = LRSchedule(self.optimizer, cfg.tricks.lr_schedule, cfg.train.lr, cfg.train.epochs, self.steps_per_epoch)
        self.early = EarlyStopping(cfg.tricks.early_stopping, self.task.monitor)  # monitor "auto": the task's own metric
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision.use_scaler else None
        self.shuffle = torch.Generator(device=self.device).manual_seed(cfg.train.seed)
        self.tokens_per_sample = self.data.spec.input_shape[-1] if self.task.name == "language_modelling" else 0
        self.samples_text = self.tokens_per_sample > 0 and hasattr(self.model, "step")  # live samples of a language model
        self.sampled_at = -math.inf
        self.prepared = True

    def emit(self, event: Event) -> None:
        if self.keep_events:
            self.events.append(event)
        for sink in self.sinks:
            sink(event)

    # -- the run ----------------------------------------------------------------------

    def run(self, control: Control | None = None) -> RunResult:
        """Train until the last epoch, an early stop, a divergence or ``control.stop()``.
        An exception still leaves a summary with status ``failed`` (where it can be written)."""
        self.prepare()
        try:
            return self._run(control or Control())
        except BaseException as exc:
            self._record_failure(exc)
            raise

    def _run(self, control: Control) -> RunResult:
        cfg = self.config
        state = self._initial_state()
        if self.run_folder is not None:
            self.run_folder.write_config(cfg)
        self.emit(run_started(self, state))
        stats = StepStatsBuffer(cfg.train.stats_every, self.device)
        guard = NonFinitePolicy(cfg.train, self.model, self.scaler, state.skipped)
        state.started = time.perf_counter()
        if self.resume is None:
            self._save_last(state, mid_epoch=False)  # so a kill -9 in the first epoch can resume
        self.model.train()
        if self.resume is not None:
            torch.set_rng_state(self.resume[0]["rng"]["torch"])  # dropout continues where it was
        outcome = None
        for epoch in range(state.epochs_run, cfg.train.epochs):
            outcome = self._train_epoch(epoch, state, stats, guard, control) or self._end_epoch(state)
            if outcome is not None:
                break
        return self._finish(state, outcome or Outcome("completed", f"reached the last epoch ({cfg.train.epochs})"))

    def _train_epoch(self, epoch: int, state: RunState, stats: StepStatsBuffer, guard: NonFinitePolicy,
                     control: Control) -> Outcome | None:
        """One epoch's steps; returns why the run ends in it (diverged, stopped) or None."""
        model, optimizer, schedule, scaler, clip, task = self.model, self.optimizer, self.schedule, self.scaler, self.clip, self.task
        device, precision, train, bs = self.device, self.precision, self.data.train, self.config.train.batch_size
        group = optimizer.param_groups[0]
        first = state.begin_epoch(epoch, self.shuffle.get_state())  # a stop mid-epoch replays this epoch's order
        stats.start_epoch(state.epoch_started)
        train = train.for_epoch(self.shuffle)  # text: the block cut at a new offset (data.random_offsets)
        perm = torch.randperm(len(train), device=device, generator=self.shuffle)
        augment = self.inputs.draw(len(train), self.shuffle, device)  # augment: the epoch's crops and flips
        outcome = None
        for b, (xb, yb) in enumerate(train.batches(bs, perm, first, self.steps_per_epoch), first):
            if control.stop_requested or control.paused:
                waited = control.wait_while_paused()
                stats.exclude(waited)
                state.epoch_paused += waited
                if control.stop_requested:
                    break
            if self.samples_text and control.take_sample_request():  # the app's g: a sample from the weights of this moment
                spent = self._sample(state, state.global_step + stats.pending, "request")
                stats.exclude(spent)
                state.epoch_paused += spent
            xb = self.inputs.prepare(xb, augment, b * bs)
            guard.before_step()  # on_nonfinite = skip: keep BatchNorm's running statistics
            with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):  # mixed_precision
                loss = task.loss(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:  # mixed_precision, fp16
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)  # clip and measure the true gradients
            else:
                loss.backward()
            norm = clip()  # grad_clip: the pre-clip norm is measured, clipping on or off
            row = stats.record(loss, norm, group["lr"], len(yb))
            if not guard.skip(row, state.global_step + stats.pending):  # on_nonfinite = skip: one sync a step
                apply_sgd_decoupled_decay(self.optimizer_setup)  # weight_decay: decoupled, for SGD (AdamW does it itself)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                schedule.after_batch()  # lr_schedule: warm-up and the per-batch schedules
            if scaler is not None:
                row[2] = scaler._scale  # a drop in the scale marks a step the scaler skipped
            state.step_in_epoch += 1
            if stats.due():
                outcome = self._report(state, stats, guard)
                if outcome is not None:
                    break
        outcome = self._report(state, stats, guard) or outcome
        state.epoch_train_seconds = time.perf_counter() - state.epoch_started - state.epoch_paused
        state.train_seconds += state.epoch_train_seconds
        if outcome is None and control.stop_requested:
            outcome = Outcome("stopped", control.reason or "stopped")
        return outcome

    def _report(self, state: RunState, stats: StepStatsBuffer, guard: NonFinitePolicy) -> Outcome | None:
        """Fetch the pending step statistics (one transfer), emit them, and say whether the run diverged."""
        fetched = stats.fetch()
        if fetched is None:
            return None
        first = state.global_step
        state.global_step += len(fetched.losses)
        state.samples += fetched.samples
        review = guard.review(fetched, first, state.epoch)
        state.epoch_losses.extend(loss for i, loss in enumerate(fetched.losses) if first + i + 1 not in review.skipped)
        self.emit(StepStats(state.epoch, first, state.step_in_epoch, fetched.losses, fetched.grad_norms, fetched.lrs,
                            fetched.samples_per_second))
        for event in review.events:
            self.emit(event)
        return review.outcome

    def _end_epoch(self, state: RunState) -> Outcome | None:
        """Validation, the per-epoch schedule, early stopping, ``best.pt`` and ``last.pt``."""
        cfg, early = self.config, self.early
        state.epochs_run = state.epoch + 1
        metrics = evaluate(self.model, self.data.val, self.task, self.precision, self.device, "val", self.inputs)
        self.schedule.after_epoch(metrics)  # lr_schedule: per-epoch schedules, plateau on its monitor
        improved = early.update(state.epochs_run, metrics)  # early_stopping
        seconds = state.epoch_train_seconds
        self.emit(
            EpochEnded(
                epoch=state.epochs_run,
                train_loss=sum(state.epoch_losses) / max(1, len(state.epoch_losses)),
                val_loss=metrics["val_loss"],
                val_accuracy=metrics.get("val_accuracy"),
                metrics={k: v for k, v in metrics.items() if k != "val_loss"},
                lr=self.optimizer.param_groups[0]["lr"],
                seconds=time.perf_counter() - state.epoch_started - state.epoch_paused,
                samples_per_second=len(self.data.train) / seconds if seconds > 0 else 0.0,
                tokens_per_second=len(self.data.train) * self.tokens_per_sample / seconds if seconds > 0 else 0.0,
            )
        )
        self.emit(
            EarlyStoppingState(
                epoch=state.epochs_run, enabled=early.enabled, monitor=early.monitor, value=metrics[early.monitor],
                best_value=early.best, best_epoch=early.best_epoch, wait=early.wait, patience=early.patience, improved=improved,
            )
        )
        if not math.isfinite(metrics["val_loss"]):
            return Outcome("diverged", f"validation loss is {metrics['val_loss']} after epoch {state.epochs_run}; {DIVERGED_HINT}")
        if cfg.sample.every_epoch and (time.perf_counter() - self.sampled_at >= cfg.sample.min_seconds or state.epochs_run == cfg.train.epochs):
            self._sample(state, state.global_step, "epoch")
        if improved and finite_state(self.model):  # best.pt never holds non-finite weights
            state.best_metrics = metrics
            state.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self._save("best", state.epochs_run, {"model": state.best_state, "epoch": state.epochs_run, "metrics": metrics})
        if state.epochs_run % cfg.train.checkpoint_every == 0 and state.epochs_run < cfg.train.epochs:
            self._save_last(state, mid_epoch=False)
        if early.should_stop:
            return Outcome("early_stopped", f"{early.monitor} did not improve for {early.patience} epochs "
                                            f"(best {early.best:.4g} at epoch {early.best_epoch})")
        return None

    def _finish(self, state: RunState, outcome: Outcome) -> RunResult:
        """``last.pt``, the best weights back (early_stopping.restore_best), the test score, the summary."""
        cfg = self.config
        if outcome.status == "stopped":  # mid-epoch: at the epoch's start, to replay its order
            self._save_last(state, mid_epoch=True)
        elif outcome.status != "diverged":  # a diverged run keeps its last finite checkpoint
            self._save_last(state, mid_epoch=False)
        restored = False
        es = cfg.tricks.early_stopping
        if es.enabled and es.restore_best and state.best_state is not None:
            self.model.load_state_dict(state.best_state)
            restored = True
        k = self.data.spec.num_classes if self.task.name == "classification" else 0
        confusion = torch.zeros(k, k, dtype=torch.long, device=self.device) if k else None
        test = evaluate(self.model, self.data.test, self.task, self.precision, self.device, "test", self.inputs, confusion)
        summary = run_summary(self, state, outcome, test, restored, confusion)
        if hasattr(self.task, "report") and math.isfinite(test["test_loss"]):  # regression: the test period's forecasts
            summary.update(self.task.report(self.model, self.data, self.precision, self.device))
        if self.run_folder is not None:
            self.run_folder.wait()  # every checkpoint is on disk before the summary says so
            self.run_folder.write_summary(summary)
        self.emit(RunEnded(status=outcome.status, reason=outcome.reason, summary=summary))
        if self.run_folder is not None:
            self.run_folder.close()
        return RunResult(outcome.status, summary, self.model, summary["run_dir"], self.events)

    # -- helpers --------------------------------------------------------------------

    def _initial_state(self) -> RunState:
        """A fresh state, or (resume) the model, optimizer, schedule, scaler, early stopping
        and counters of ``last.pt``, with ``metrics.jsonl`` cut back to that checkpoint."""
        if self.resume is None:
            return RunState()
        last, best = self.resume
        self.model.load_state_dict(last["model"])
        self.optimizer.load_state_dict(last["optimizer"])
        self.schedule.load_state_dict(last["schedule"])
        if self.scaler is not None and last.get("scaler"):
            self.scaler.load_state_dict(last["scaler"])
        self.early.load_state_dict(last["early_stopping"])
        self.shuffle.set_state(last["rng"]["shuffle"])
        if self.run_folder is not None and "metrics_bytes" in last:
            self.run_folder.truncate_metrics(last["metrics_bytes"])  # drop events after the checkpoint
        return RunState.from_checkpoint(last, best)

    def _sample(self, state: RunState, step: int, trigger: str) -> float:
        """Emit text from the current weights (a language model); the seconds it took."""
        if not self.samples_text:
            return 0.0
        s, start = self.config.sample, time.perf_counter()
        seed = self.config.train.seed * 1_000_003 + step  # the same run draws the same samples
        text = generate_text(self.model, self.data.spec.classes, s.prompt, s.length, s.temperature, s.top_k, seed)
        self.sampled_at = time.perf_counter()
        seconds = self.sampled_at - start
        self.emit(SampleText(state.epochs_run, step, text, s.prompt, s.temperature, s.top_k, seed, seconds, trigger))
        return seconds

    def _record_failure(self, exc: BaseException) -> None:
        interrupted = isinstance(exc, KeyboardInterrupt)
        status = "stopped" if interrupted else "failed"
        reason = "interrupted (KeyboardInterrupt)" if interrupted else f"{type(exc).__name__}: {exc}"
        summary = {"preset": self.config.name, "status": status, "reason": reason,
                   "run_dir": str(self.run_folder.path) if self.run_folder is not None else None}
        try:
            if self.run_folder is not None:
                self.run_folder.write_summary(summary)
            self.emit(RunEnded(status=status, reason=reason, summary=summary))
        except Exception:
            pass  # the original error is the one to report
        finally:
            if self.run_folder is not None:
                try:
                    self.run_folder.close()
                except Exception:
                    pass

    def _save(self, kind: str, epoch: int, payload: dict[str, Any]) -> None:
        if self.run_folder is None:
            return
        payload = {**payload, "config": config_to_dict(self.config)}
        path = self.run_folder.save_checkpoint_async(kind, payload)
        self.emit(CheckpointSaved(epoch, kind, str(path)))

    def _save_last(self, state: RunState, mid_epoch: bool) -> None:
        """``last.pt``: at the end of ``state.epochs_run`` epochs, or (``mid_epoch``, a stop)
        ``state.step_in_epoch`` steps into the next, with the shuffling generator at that
        epoch's start so a resume replays its order. With ``metrics_bytes``, a resume drops
        the events written after this point."""
        if self.run_folder is None:
            return
        checkpoint = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "early_stopping": self.early.state_dict(),
            **state.checkpoint(mid_epoch),
            "rng": {"torch": torch.get_rng_state(), "shuffle": state.shuffle_state if mid_epoch else self.shuffle.get_state()},
            "metrics_bytes": self.run_folder.metrics_offset(),
        }
        self._save("last", state.epochs_run, checkpoint)
