"""The training loop: one flat loop with the seven tricks, read top to bottom in :meth:`Trainer.run`.

What is on the device stays there: step losses and gradient norms are written into a
small device buffer and fetched in one transfer every ``train.stats_every`` steps or
about ten times a second (:meth:`Trainer._flush`); validation metrics are fetched once
per epoch. Nothing in the step calls ``.item()``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config, config_to_dict
from ..data import Datasets, Split, load_data
from ..models import build_model, count_parameters, describe
from .control import Control
from .early_stopping import EarlyStopping
from .memory import tune_allocator
from .events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    Event,
    RunEnded,
    RunStarted,
    StepsSkipped,
    StepStats,
)
from .optim import apply_sgd_decoupled_decay, build_optimizer, make_clipper
from .precision import Precision, choose_threads, resolve_device, resolve_precision
from .schedule import LRSchedule

Sink = Callable[[Event], None]

FLUSH_SECONDS = 0.1  # fetch step statistics at least this often
EVAL_BATCH = 1024

DIVERGED_HINT = "try a lower train.lr, gradient clipping (--grad-clip) or a warm-up (tricks.lr_schedule.warmup_epochs)"


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches plus the last partial one, unless it would hold a single sample
    (BatchNorm cannot normalise a batch of one); that sample is reshuffled next epoch."""
    full, rest = divmod(n, batch_size)
    return max(1, full + (1 if rest >= 2 else 0))


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, precision: Precision, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a split, in eval mode, fetched in one transfer."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(split), EVAL_BATCH):
        x, y = split.x[start : start + EVAL_BATCH], split.y[start : start + EVAL_BATCH]
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.enabled):
            logits = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    loss, hits = torch.stack((loss_sum, correct.to(loss_sum.dtype))).tolist()
    return loss / len(split), hits / len(split)


def finite_state(model: nn.Module) -> bool:
    """Whether every floating-point parameter and buffer is finite (one sync)."""
    checks = [torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()]
    return bool(torch.stack(checks).all()) if checks else True


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
        run_folder: Any = None,
        sinks: Iterable[Sink] = (),
        data: Datasets | None = None,
        allow_emulated_bf16: bool = False,
        keep_events: bool = False,
        resume: tuple[dict[str, Any], dict[str, Any] | None] | None = None,
    ):
        """``resume``: ``(last, best)`` checkpoints (see :func:`~.checkpoint.load_resume`) to
        continue from, with ``run_folder`` the folder they came from."""
        self.config = config
        self.run_folder = run_folder
        self.sinks: list[Sink] = list(sinks)
        if run_folder is not None:
            self.sinks.insert(0, run_folder.sink)
        self.data = data
        self.allow_emulated_bf16 = allow_emulated_bf16
        self.keep_events = keep_events
        self.events: list[Event] = []
        self.resume = resume
        self.prepared = False

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
            self.data = load_data(cfg.data, self.device)
        elif self.data.train.x.device != self.device:
            d = self.data
            move = lambda s: Split(s.x.to(self.device), s.y.to(self.device))  # noqa: E731
            self.data = Datasets(d.spec, move(d.train), move(d.val), move(d.test))
        self.model = build_model(self.data.spec, cfg).to(self.device)
        self.opt = build_optimizer(self.model, cfg)
        self.clip = make_clipper(self.opt.params, cfg)
        self.steps_per_epoch = steps_per_epoch(len(self.data.train), cfg.train.batch_size)
        self.schedule = LRSchedule(self.opt.optimizer, cfg.tricks.lr_schedule, cfg.train.lr, cfg.train.epochs, self.steps_per_epoch)
        self.early = EarlyStopping(cfg.tricks.early_stopping)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision.use_scaler else None
        self.shuffle = torch.Generator(device=self.device).manual_seed(cfg.train.seed)
        self.prepared = True

    def emit(self, event: Event) -> None:
        if self.keep_events:
            self.events.append(event)
        for sink in self.sinks:
            sink(event)

    # -- the loop -------------------------------------------------------------------

    def run(self, control: Control | None = None) -> RunResult:
        """Train until the last epoch, an early stop, a divergence or ``control.stop()``.
        An exception still leaves a summary with status ``failed`` (where it can be written)."""
        self.prepare()
        try:
            return self._run(control or Control())
        except BaseException as exc:
            self._record_failure(exc)
            raise

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

    def _run(self, control: Control) -> RunResult:
        cfg = self.config
        model, optimizer, schedule, early = self.model, self.opt.optimizer, self.schedule, self.early
        train, val, test = self.data.train, self.data.val, self.data.test
        device, precision, scaler, clip = self.device, self.precision, self.scaler, self.clip
        autocast_dtype, autocast_on = precision.dtype, precision.enabled
        n, bs, spe = len(train), cfg.train.batch_size, self.steps_per_epoch
        group = optimizer.param_groups[0]

        # Counters, and where a resumed run picks up.
        self._global_step = 0
        self._samples = 0
        self._train_seconds = 0.0
        self._wall_before = 0.0
        self._skipped: dict[str, int] = {"nonfinite": 0, "grad_scaler": 0}
        best_state: dict[str, torch.Tensor] | None = None
        self._best_metrics: dict[str, float] = {}
        start_epoch, resume_step, resume_losses = 0, 0, []
        if self.resume is not None:
            last, best = self.resume
            model.load_state_dict(last["model"])
            optimizer.load_state_dict(last["optimizer"])
            schedule.load_state_dict(last["schedule"])
            if scaler is not None and last.get("scaler"):
                scaler.load_state_dict(last["scaler"])
            early.load_state_dict(last["early_stopping"])
            start_epoch, resume_step = last["epoch"], last["step_in_epoch"]
            resume_losses = [float(v) for v in last.get("epoch_losses", [])]
            counters = last.get("counters", {})
            self._global_step = last["global_step"]
            self._samples = counters.get("samples", 0)
            self._train_seconds = counters.get("train_seconds", 0.0)
            self._wall_before = counters.get("wall_seconds", 0.0)
            self._skipped.update(counters.get("skipped", {}))
            if best is not None and best.get("epoch", 0) <= start_epoch:  # a later best.pt is re-made by the replay
                best_state = best["model"]
                self._best_metrics = {k: float(v) for k, v in best.get("metrics", {}).items()}
            self.shuffle.set_state(last["rng"]["shuffle"])
            if self.run_folder is not None and "metrics_bytes" in last:
                self.run_folder.truncate_metrics(last["metrics_bytes"])  # drop events after the checkpoint
        if self.run_folder is not None:
            self.run_folder.write_config(cfg)
        self.emit(
            RunStarted(
                preset=cfg.name,
                run_dir=str(self.run_folder.path) if self.run_folder is not None else None,
                device=str(device),
                precision=precision.name,
                threads=self.threads,
                parameters=count_parameters(model),
                model=describe(model),
                train_size=n,
                val_size=len(val),
                test_size=len(test),
                batch_size=bs,
                steps_per_epoch=spe,
                epochs=cfg.train.epochs,
                start_epoch=start_epoch,
                tricks=cfg.tricks_on(),
                clip_threshold=cfg.tricks.grad_clip.threshold if cfg.tricks.grad_clip.enabled else None,
                patience=cfg.tricks.early_stopping.patience if cfg.tricks.early_stopping.enabled else None,
                start_step=self._global_step,
            )
        )

        # Step statistics live on the device until a flush fetches them in one transfer.
        self._stats = torch.zeros(cfg.train.stats_every, 3, device=device)  # loss, pre-clip norm, fp16 scale
        self._lrs: list[float] = []
        self._pending = 0
        self._epoch_losses: list[float] = []
        self._nonfinite_step: int | None = None
        started = self._started = time.perf_counter()
        if self.resume is None:
            self._save_last(0, 0, self.shuffle.get_state())  # so a kill -9 in the first epoch can resume
        self._last_flush = time.perf_counter()
        self._skipped_steps: list[int] = []  # skipped since the last flush (skip policy)
        self._last_scale = float(scaler.get_scale()) if scaler is not None else None
        skip_nonfinite = cfg.train.on_nonfinite == "skip"
        # A skipped step must not leave NaN in BatchNorm's running statistics, which the
        # forward pass has already updated: the skip policy keeps a copy to put back.
        buffers = list(model.buffers()) if skip_nonfinite else []
        kept = [b.clone() for b in buffers]
        status, reason = "completed", f"reached the last epoch ({cfg.train.epochs})"
        epochs_run = start_epoch
        model.train()
        if self.resume is not None:
            torch.set_rng_state(self.resume[0]["rng"]["torch"])  # dropout continues where it was

        for epoch in range(start_epoch, cfg.train.epochs):
            epoch_start = time.perf_counter()
            first_batch = resume_step if epoch == start_epoch else 0
            self._epoch, self._step_in_epoch = epoch, first_batch
            self._epoch_losses = list(resume_losses) if first_batch else []
            self._flush_clock = epoch_start
            self._flush_samples = 0
            paused = 0.0
            self._shuffle_state = self.shuffle.get_state()  # a stop mid-epoch replays this epoch's order
            perm = torch.randperm(n, device=device, generator=self.shuffle)
            xs, ys = train.x[perm], train.y[perm]  # one gather an epoch; batches are views
            for b in range(first_batch, spe):
                if control._stop.is_set() or not control._running.is_set():
                    paused_at = time.perf_counter()
                    control.wait_while_paused()
                    waited = time.perf_counter() - paused_at
                    self._flush_clock += waited
                    paused += waited
                    if control.stop_requested:
                        break
                start = b * bs
                xb, yb = xs[start : start + bs], ys[start : start + bs]
                if kept:
                    torch._foreach_copy_(kept, buffers)
                with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_on):
                    loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)  # clip and measure the true gradients
                else:
                    loss.backward()
                norm = clip()
                self._lrs.append(group["lr"])
                row = self._stats[self._pending]
                row[0] = loss.detach()
                row[1] = norm
                if skip_nonfinite and not bool(torch.isfinite(row[:2]).all()):  # the policy's one sync a step
                    self._skipped_steps.append(self._global_step + self._pending + 1)
                    self._skipped["nonfinite"] += 1
                    if kept:
                        torch._foreach_copy_(buffers, kept)
                else:
                    apply_sgd_decoupled_decay(self.opt)
                    if scaler is not None:
                        scaler.step(optimizer)
                        scaler.update()
                        row[2] = scaler._scale  # a drop in the scale marks a step the scaler skipped
                    else:
                        optimizer.step()
                    schedule.after_batch()
                self._pending += 1
                self._step_in_epoch += 1
                self._flush_samples += yb.shape[0]
                if self._pending == cfg.train.stats_every or time.perf_counter() - self._last_flush >= FLUSH_SECONDS:
                    self._flush()
                    if self._nonfinite_step is not None:
                        break
                    if skip_nonfinite and self._skipped["nonfinite"] > cfg.train.max_skipped_steps:
                        break
            self._flush()
            train_seconds = time.perf_counter() - epoch_start - paused
            self._train_seconds += train_seconds
            if self._nonfinite_step is not None:
                status, reason = "diverged", f"non-finite loss or gradient at step {self._nonfinite_step}; {DIVERGED_HINT}"
                break
            if skip_nonfinite and self._skipped["nonfinite"] > cfg.train.max_skipped_steps:
                status = "diverged"
                reason = (f"{self._skipped['nonfinite']} steps skipped for a non-finite loss or gradient "
                          f"(more than train.max_skipped_steps = {cfg.train.max_skipped_steps}); {DIVERGED_HINT}")
                break
            if control.stop_requested:
                status, reason = "stopped", control.reason or "stopped"
                break
            epochs_run = epoch + 1
            val_loss, val_acc = evaluate(model, val, precision, device)
            metrics = {"val_loss": val_loss, "val_accuracy": val_acc}
            schedule.after_epoch(metrics)
            improved = early.update(epochs_run, metrics)
            self.emit(
                EpochEnded(
                    epoch=epochs_run,
                    train_loss=sum(self._epoch_losses) / max(1, len(self._epoch_losses)),
                    val_loss=val_loss,
                    val_accuracy=val_acc,
                    lr=group["lr"],
                    seconds=time.perf_counter() - epoch_start - paused,
                    samples_per_second=n / train_seconds if train_seconds > 0 else 0.0,
                )
            )
            self.emit(
                EarlyStoppingState(
                    epoch=epochs_run,
                    enabled=early.enabled,
                    monitor=early.monitor,
                    value=metrics[early.monitor],
                    best_value=early.best,
                    best_epoch=early.best_epoch,
                    wait=early.wait,
                    patience=early.patience,
                    improved=improved,
                )
            )
            if not math.isfinite(val_loss):
                status, reason = "diverged", f"validation loss is {val_loss} after epoch {epochs_run}; {DIVERGED_HINT}"
                break
            if improved and finite_state(model):  # best.pt never holds non-finite weights
                self._best_metrics = metrics
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                self._save("best", epochs_run, {"model": best_state, "epoch": epochs_run, "metrics": metrics})
            if epochs_run % cfg.train.checkpoint_every == 0 and epochs_run < cfg.train.epochs:
                self._save_last(epochs_run, 0, self.shuffle.get_state())
            if early.should_stop:
                status = "early_stopped"
                reason = f"{early.monitor} did not improve for {early.patience} epochs (best {early.best:.4g} at epoch {early.best_epoch})"
                break

        if status == "stopped":  # mid-epoch: the epoch's start, to replay its order
            self._save_last(epochs_run, self._step_in_epoch, self._shuffle_state)
        elif status != "diverged":  # a diverged run keeps its last finite checkpoint
            self._save_last(epochs_run, 0, self.shuffle.get_state())
        restored = False
        if cfg.tricks.early_stopping.enabled and cfg.tricks.early_stopping.restore_best and best_state is not None:
            model.load_state_dict(best_state)
            restored = True
        test_loss, test_acc = evaluate(model, test, precision, device)
        wall = time.perf_counter() - started
        summary = {
            "preset": cfg.name,
            "status": status,
            "reason": reason,
            "epochs_run": epochs_run,
            "steps": self._global_step,
            "skipped_steps": dict(self._skipped),
            "best_epoch": early.best_epoch or None,
            "best_val_loss": self._best_metrics.get("val_loss"),
            "best_val_accuracy": self._best_metrics.get("val_accuracy"),
            "weights": "best" if restored else "last",
            "test_loss": test_loss if math.isfinite(test_loss) else None,
            "test_accuracy": test_acc if math.isfinite(test_loss) else None,
            "wall_seconds": self._wall_before + wall,
            "train_samples_per_second": self._samples / self._train_seconds if self._train_seconds > 0 else 0.0,
            "device": str(device),
            "precision": precision.name,
            "threads": self.threads,
            "tricks": cfg.tricks_on(),
            "run_dir": str(self.run_folder.path) if self.run_folder is not None else None,
            "torch": torch.__version__,
        }
        if self.run_folder is not None:
            self.run_folder.wait()  # every checkpoint is on disk before the summary says so
            self.run_folder.write_summary(summary)
        self.emit(RunEnded(status=status, reason=reason, summary=summary))
        if self.run_folder is not None:
            self.run_folder.close()
        return RunResult(status, summary, model, summary["run_dir"], self.events)

    # -- helpers --------------------------------------------------------------------

    def _flush(self) -> None:
        """Fetch the pending step statistics in one transfer and emit them."""
        k = self._pending
        if k == 0:
            return
        values = self._stats[:k].tolist()
        now = time.perf_counter()
        elapsed = now - self._flush_clock
        losses = [v[0] for v in values]
        norms = [v[1] for v in values]
        first = self._global_step
        self._global_step += k
        self._samples += self._flush_samples
        rate = self._flush_samples / elapsed if elapsed > 0 else 0.0
        self._flush_clock, self._flush_samples, self._last_flush = now, 0, now
        self._pending = 0
        lrs, self._lrs = self._lrs, []
        scaler_skips: set[int] = set()
        if self.scaler is not None:  # the GradScaler lowers its scale after each step it skips
            for i, v in enumerate(values):
                scale = v[2]
                if self._last_scale is not None and scale < self._last_scale:
                    scaler_skips.add(first + i + 1)
                self._last_scale = scale
        skipped = set(self._skipped_steps)
        self._epoch_losses.extend(loss for i, loss in enumerate(losses) if first + i + 1 not in skipped)
        if self._nonfinite_step is None and self.config.train.on_nonfinite == "stop":
            for i, (loss, norm) in enumerate(zip(losses, norms)):
                if first + i + 1 in scaler_skips:
                    continue  # fp16 overflow handled by the scaler: not a divergence
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    self._nonfinite_step = first + i + 1
                    break
        self.emit(StepStats(self._epoch, first, self._step_in_epoch, losses, norms, lrs, rate))
        if scaler_skips:
            self._skipped["grad_scaler"] += len(scaler_skips)
            self.emit(StepsSkipped(self._epoch, sorted(scaler_skips), "grad_scaler", self._skipped["grad_scaler"]))
        if self._skipped_steps:
            self.emit(StepsSkipped(self._epoch, self._skipped_steps, "nonfinite", self._skipped["nonfinite"]))
            self._skipped_steps = []

    def _save(self, kind: str, epoch: int, payload: dict[str, Any]) -> None:
        if self.run_folder is None:
            return
        payload = {**payload, "config": config_to_dict(self.config)}
        path = self.run_folder.save_checkpoint_async(kind, payload)
        self.emit(CheckpointSaved(epoch, kind, str(path)))

    def _save_last(self, epoch: int, step_in_epoch: int, shuffle_state: torch.Tensor) -> None:
        """``epoch`` epochs complete, plus ``step_in_epoch`` steps of the next (a stop
        mid-epoch). ``shuffle_state``: the shuffling generator at the start of that next
        epoch. With ``metrics_bytes``, a resume drops the events written after this point."""
        if self.run_folder is None:
            return
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "early_stopping": self.early.state_dict(),
            "epoch": epoch,
            "step_in_epoch": step_in_epoch,
            "global_step": self._global_step,
            "epoch_losses": torch.tensor(self._epoch_losses if step_in_epoch else [], dtype=torch.float64),
            "counters": {
                "samples": self._samples,
                "train_seconds": self._train_seconds,
                "wall_seconds": self._wall_before + time.perf_counter() - self._started,
                "skipped": dict(self._skipped),
            },
            "rng": {"torch": torch.get_rng_state(), "shuffle": shuffle_state},
            "metrics_bytes": self.run_folder.metrics_offset(),
        }
        self._save("last", epoch, state)
