"""The training loop, read top to bottom: :meth:`Trainer.run` trains epoch after epoch with
:meth:`~Trainer._train_epoch` (the steps, one visible line per trick) and
:meth:`~Trainer._end_epoch` (validation, schedule, early stopping, checkpoints), then
:meth:`~Trainer._finish` scores the weights kept on the test split and writes the summary.

Nothing in a step calls ``.item()``: step statistics stay in a device buffer
(:class:`~.stats.StepStatsBuffer`) fetched in one transfer every ``train.stats_every`` steps
or about ten times a second; validation metrics are fetched once per epoch. All the loop
counts lives in one :class:`~.state.RunState`; non-finite steps are the business of
:class:`~.nonfinite.NonFinitePolicy`, which says when a run has diverged. Where the run's
events and checkpoints go is :class:`~.record.RunRecord`; a language model's live text,
:class:`~.live_samples.LiveSamples`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn

from ..config import Config
from ..data import Datasets
from ..data.spec import Progress, no_progress
from .activations import ActivationProbe
from .clip import clipped
from .control import Control
from .distributed import Distributed, translate
from .events import EarlyStoppingState, Event, RunEnded, RunWarning, StepStats
from .live_samples import LiveSamples
from .nonfinite import DIVERGED_HINT, NonFinitePolicy, finite_state
from .outcome import Outcome
from .parts import build_parts
from .record import RunRecord, Sink
from .setup import resolve_setup
from .state import RunState, last_checkpoint, restore
from .stats import StepStatsBuffer
from .steering import Steering
from .step import Step
from .store import RunStore
from .preprocessing import preprocessing
from .summary import epoch_ended, record_failure, run_started, run_summary
from .system import SystemSampler
from .task import evaluate

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
        distributed: Distributed | None = None,
    ):
        """``resume``: ``(last, best)`` checkpoints (see :func:`tui_trainer.runs.resume.load_resume`)
        to continue from, with ``run_folder`` the folder they came from. ``distributed``: this
        process's place in a run over several (torchrun); only process 0 gets a run folder and sinks."""
        self.config = config
        self.record = RunRecord(config, sinks, keep_events)  # events and checkpoints
        if run_folder is not None:
            self.attach(run_folder)
        self._data = data  # given, or loaded by prepare()
        self.progress = progress  # downloads and decoding while the data loads
        self.allow_emulated_bf16 = allow_emulated_bf16
        self.resume = resume
        self.dist = distributed or Distributed()
        self.prepared = False

    def attach(self, run_folder: RunStore) -> None:
        """Record the run in ``run_folder``. Its sink comes first, so every event is on disk
        before anything else sees it. Callers attach after :meth:`prepare`, so that a run
        refused here leaves no folder behind."""
        self.record.attach(run_folder)

    # -- set-up -------------------------------------------------------------------

    def prepare(self) -> None:
        """Resolve where the run trains (:class:`~.setup.Setup`) and build its parts once."""
        if self.prepared:
            return
        self.setup = resolve_setup(self.config, self.dist, self._data, self.progress, self.allow_emulated_bf16,
                                   self.resume[0] if self.resume is not None else None)
        self._data = self.setup.data
        self.parts = build_parts(self.setup)
        self.step = Step(self.parts, self.setup.precision, self.setup.device)
        self.probe = ActivationProbe(self.model, self.config.train.activations_every, self.step.autocast_context,
                                     enabled=self.dist.is_main)  # dead and saturated units, for the doctor
        self.steer = Steering(self.parts.steerable())  # changed while it trains: the app's keys, tui-trainer nudge
        self.setup.tokens_per_sample = self.parts.task.tokens_per_sample(self.setup.data)
        can_sample = self.setup.tokens_per_sample > 0 and hasattr(self.model, "step") and self.dist.is_main
        self.samples = LiveSamples(self.config, self.model, self.setup.data.spec.classes, self.emit, can_sample)
        self.system: SystemSampler | None = None  # system load, sampled off the training thread while it runs
        self.prepared = True

    @property
    def model(self) -> nn.Module:
        """The model being trained (the plain module, not its DDP wrapper)."""
        return self.parts.model

    @property
    def data(self) -> Datasets | None:
        """The data: as given, or as loaded by :meth:`prepare`."""
        return self._data

    def emit(self, event: Event) -> None:
        self.record.emit(event)

    # -- the run ----------------------------------------------------------------------

    def run(self, control: Control | None = None) -> RunResult:
        """Train until the last epoch, an early stop, a divergence or ``control.stop()``.
        An exception still leaves a summary with status ``failed`` (where it can be written)."""
        self.prepare()
        try:
            result = self._run(control or Control())
        except BaseException as exc:
            if self.system is not None:
                self.system.stop()
            lost = translate(exc) if self.dist.enabled else exc  # another process is gone: say so, in one line
            record_failure(self.config, self.record.folder, self.emit, lost)
            self.dist.close(wait=False)
            if lost is not exc:
                raise lost from None
            raise
        self.dist.close()  # the others wait for process 0's summary
        return result

    def _run(self, control: Control) -> RunResult:
        cfg, setup, parts = self.config, self.setup, self.parts
        state = self._initial_state()
        if self.record.folder is not None:
            self.record.folder.write_config(cfg)
            self.record.folder.write_preprocessing(preprocessing(setup.data, cfg))
        self.emit(run_started(setup, parts, state, self.run_dir))
        stats = StepStatsBuffer(cfg.train.stats_every, setup.device, parts.scaler)
        guard = NonFinitePolicy(cfg.train, parts.model, parts.scaler, state.skipped)
        if self.dist.enabled:  # the norm is global, the loss each process's own: skip on the norm alone, all alike
            guard.checked = slice(1, 2)
        state.started = time.perf_counter()
        self.system = SystemSampler(setup.device).start() if self.dist.is_main else None  # system load, off this thread
        if self.resume is None:
            self._save_last(state, mid_epoch=False)  # so a kill -9 in the first epoch can resume
        parts.model.train()
        if self.resume is not None:  # dropout continues where it was (each process's own)
            last = self.resume[0]
            torch.set_rng_state(last["ranks"][self.dist.rank]["rng"] if self.dist.enabled else last["rng"]["torch"])
        outcome = None
        decide = self.dist.decide  # every process does what process 0 decided
        for epoch in range(state.epochs_run, cfg.train.epochs):
            outcome = decide(self._train_epoch(epoch, state, stats, guard, control)) or decide(self._end_epoch(state))
            if outcome is not None:
                break
        return self._finish(state, outcome or Outcome("completed", f"reached the last epoch ({cfg.train.epochs})"))

    def _train_epoch(self, epoch: int, state: RunState, stats: StepStatsBuffer, guard: NonFinitePolicy,
                     control: Control) -> Outcome | None:
        """One epoch's steps; returns why the run ends in it (diverged, stopped) or None."""
        p, setup, step, dist = self.parts, self.setup, self.step, self.dist
        optim, inputs, shuffle, device, bs = p.optim, p.inputs, p.shuffle, setup.device, self.config.train.batch_size
        group = optim.optimizer.param_groups[0]
        first = state.begin_epoch(epoch, shuffle.get_state())  # a stop mid-epoch replays this epoch's order
        stats.start_epoch(state.epoch_started)
        train = setup.data.train.for_epoch(shuffle)  # text: the block cut at a new offset (data.random_offsets)
        perm = torch.randperm(len(train), device=device, generator=shuffle)
        augment = inputs.draw(len(train), shuffle, device)  # augment: the epoch's crops and flips
        steps, local, offset = setup.steps_per_epoch, dist.local_batch(bs), dist.rank * dist.local_batch(bs)
        outcome, agreed = None, False
        for b, (xb, yb) in enumerate(train.batches(local, dist.shard(perm, steps, bs), first, steps), first):
            if dist.enabled:  # every process stops at the same step, when any one wants to (a signal, a divergence)
                if agreed := dist.should_stop(control.stop_requested or outcome is not None):
                    break
            elif control.stop_requested or control.paused:
                self._hold(control, stats, state)
                if control.stop_requested:
                    break
            if control.waiting or self.steer.replay:
                self._at_boundary(control, stats, state, epoch)  # steering, and the app's g
            xb = inputs.prepare(xb, augment, b * bs + offset)
            self.probe.keep(xb)  # the session's first batch, once
            guard.before_step()  # on_nonfinite = skip: keep BatchNorm's running statistics
            loss, norm = step.backward(xb, yb)
            row = stats.record(loss, norm, group["lr"] * optim.lr_scale, len(yb) * dist.world_size)
            if not guard.skip(row, state.global_step + stats.pending):  # on_nonfinite = skip: one sync a step
                step.update()
            stats.record_scale(row)  # fp16: a drop in the scale marks a step the scaler skipped
            state.step_in_epoch += 1
            if self.probe.due(state.global_step + stats.pending):  # train.activations_every
                self.emit(self.probe.measure(state.global_step + stats.pending, epoch))
            if stats.due():  # always fetched (the buffer must empty), even with an outcome waiting for agreement
                outcome = self._report(state, stats, guard) or outcome
                if outcome is not None and not dist.enabled:  # several processes: at the agreed step
                    break
        dist.drain()
        outcome = self._report(state, stats, guard) or outcome
        state.epoch_train_seconds = time.perf_counter() - state.epoch_started - state.epoch_paused
        state.train_seconds += state.epoch_train_seconds
        if outcome is None and (control.stop_requested or agreed):
            outcome = Outcome(control.status, control.reason or "stopped: another process of the run was asked to stop")
        return outcome

    @staticmethod
    def _hold(control: Control, stats: StepStatsBuffer, state: RunState) -> None:
        """Wait out a pause; its time is no training time."""
        waited = control.wait_while_paused()
        stats.exclude(waited)
        state.epoch_paused += waited

    def _at_boundary(self, control: Control, stats: StepStatsBuffer, state: RunState, epoch: int) -> None:
        """Between two steps: the steering due (replayed or asked for), and a text sample when asked."""
        step = state.global_step + stats.pending
        for event in self.steer.at_boundary(control, step, epoch):
            self.emit(event)
        if control.take_sample_request() and self.samples.enabled:  # the app's g: a sample of the weights of now
            spent = self.samples.take(state.epochs_run, step, "request")
            stats.exclude(spent)
            state.epoch_paused += spent

    def _report(self, state: RunState, stats: StepStatsBuffer, guard: NonFinitePolicy) -> Outcome | None:
        """Fetch the pending step statistics (one transfer), emit them, and say whether the run diverged."""
        fetched = stats.fetch()
        if self.system is not None and (load := self.system.take()) is not None:
            self.emit(load)
        if fetched is None:
            return None
        first = state.global_step
        state.global_step += len(fetched.losses)
        state.samples += fetched.samples
        state.epoch_steps += len(fetched.losses)
        cut = clipped(self.parts.clip, fetched.grad_norms)  # for the markers
        state.epoch_clipped = None if cut is None else (state.epoch_clipped or 0) + cut
        review = guard.review(fetched, first, state.epoch)
        state.epoch_losses.extend(loss for i, loss in enumerate(fetched.losses) if first + i + 1 not in review.skipped)
        self.emit(StepStats(state.epoch, first, state.step_in_epoch, fetched.losses, fetched.grad_norms, fetched.lrs,
                            fetched.samples_per_second, fetched.seconds))
        for event in review.events:
            self.emit(event)
        return review.outcome

    def _end_epoch(self, state: RunState) -> Outcome | None:
        """Validation, the per-epoch schedule, early stopping, ``best.pt`` and ``last.pt``."""
        cfg, parts, early = self.config, self.parts, self.parts.early
        state.epochs_run = state.epoch + 1
        metrics = self._evaluate(self.setup.data.val, "val")
        parts.schedule.after_epoch(metrics)  # lr_schedule: per-epoch schedules, plateau on its monitor
        improved = early.update(state.epochs_run, metrics)  # early_stopping
        self.emit(epoch_ended(self.setup, self.parts, state, metrics))
        self.emit(EarlyStoppingState(epoch=state.epochs_run, enabled=early.enabled, monitor=early.monitor,
                                     value=metrics[early.monitor], best_value=early.best, best_epoch=early.best_epoch,
                                     wait=early.wait, patience=early.patience, improved=improved))
        if not math.isfinite(metrics["val_loss"]):
            return Outcome("diverged", f"validation loss is {metrics['val_loss']} after epoch {state.epochs_run}; "
                                       f"{DIVERGED_HINT}")
        if self.samples.due_after(state.epochs_run):
            self.samples.take(state.epochs_run, state.global_step, "epoch")
        judged = parts.judged
        if improved and finite_state(judged):  # best.pt never holds non-finite weights
            state.best_metrics = metrics
            state.best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
            best = {"model": state.best_state, "epoch": state.epochs_run, "metrics": metrics}
            self.record.save("best", state.epochs_run, best)
        if state.epochs_run % cfg.train.checkpoint_every == 0 and state.epochs_run < cfg.train.epochs:
            self._save_last(state, mid_epoch=False)
        if early.should_stop:
            return Outcome("early_stopped", f"{early.monitor} did not improve for {early.patience} epochs "
                                            f"(best {early.best:.4g} at epoch {early.best_epoch})")
        return None

    def _finish(self, state: RunState, outcome: Outcome) -> RunResult:
        """``last.pt``, the best weights back (early_stopping.restore_best), the test score, the summary."""
        cfg, setup, parts = self.config, self.setup, self.parts
        if outcome.status in ("stopped", "pruned"):  # mid-epoch: at the epoch's start, to replay its order
            self._save_last(state, mid_epoch=True)
        elif outcome.status != "diverged":  # a diverged run keeps its last finite checkpoint
            self._save_last(state, mid_epoch=False)
        restored = False
        es = cfg.tricks.early_stopping
        if es.enabled and es.restore_best and state.best_state is not None:
            parts.judged.load_state_dict(state.best_state)
            restored = True
        confusion = parts.task.confusion(setup.data, setup.device)
        test = self._evaluate(setup.data.test, "test", confusion)
        summary = run_summary(setup, parts, state, outcome, test, restored, confusion, self.run_dir)
        if self.system is not None:
            self.system.stop()
            summary["peak_memory"] = self.system.peaks()
        if math.isfinite(test["test_loss"]) and self.dist.is_main:  # regression: the test period's forecasts
            summary.update(parts.task.report(parts.judged, setup.data, setup.precision, setup.device))
        for message in summary.get("warnings", []):  # a run that learnt nothing says so
            self.emit(RunWarning(message))
        self.record.end(summary, RunEnded(status=outcome.status, reason=outcome.reason, summary=summary))
        return RunResult(outcome.status, summary, parts.judged, summary["run_dir"], self.record.events)

    # -- helpers --------------------------------------------------------------------

    @property
    def run_dir(self) -> str | None:
        return self.record.run_dir

    def _evaluate(self, split, prefix: str, confusion: torch.Tensor | None = None) -> dict[str, float]:
        """Metrics over ``split``; with several processes each scores its share and the sums are all-reduced."""
        setup, parts, judged = self.setup, self.parts, self.parts.judged
        self.dist.sync_buffers(judged)  # local BatchNorm statistics: process 0's
        return evaluate(judged, split, parts.task, setup.precision, setup.device, prefix, parts.inputs, confusion,
                        self.dist.eval_part(len(split)), self.dist.all_sum)

    def _initial_state(self) -> RunState:
        if self.resume is None:
            return RunState()
        return restore(self.parts, self.steer, self.record.folder, self.dist, *self.resume)

    def _save_last(self, state: RunState, mid_epoch: bool) -> None:
        # every process takes part (their RNG states)
        checkpoint = last_checkpoint(self.parts, self.record.folder, self.dist, state, mid_epoch)
        if checkpoint is not None:
            self.record.save("last", state.epochs_run, checkpoint)
