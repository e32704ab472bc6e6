"""Runs made by hand for the doctor's tests: the events of a run whose every epoch and step is
given, so that each check can be put on either side of its threshold without training."""

from __future__ import annotations

from tui_trainer.engine.events import EpochEnded, RunEnded, RunStarted, StepStats

STEPS = 20  # steps per epoch


def started(**changes) -> RunStarted:
    plan = dict(preset="test", run_dir=None, device="cpu", precision="fp32", threads=1, parameters=1000,
                model=["head Linear(in_features=8, out_features=10, bias=True)  90"], train_size=2000, val_size=200,
                test_size=200, batch_size=100, steps_per_epoch=STEPS, epochs=20, start_epoch=0,
                tricks=["grad_clip", "weight_decay", "early_stopping"], clip_threshold=1.0, patience=5, schedule="")
    return RunStarted(**{**plan, **changes})


def events(train, val, *, status="completed", losses=None, norms=None, lrs=None, weight_norms=None, clipped=None,
           extra=(), summary=None, accuracy=None, **plan) -> list:
    """A run's events: one EpochEnded per value of ``train``/``val`` (and of ``accuracy``, the validation
    accuracy, where given); steps from ``losses`` and ``norms`` (else each epoch's steps at its training
    loss, norm 1); ``status`` None: still running."""
    n = len(train)
    losses = losses or [train[e] for e in range(n) for _ in range(STEPS)]
    norms = norms or [1.0] * len(losses)
    lrs = lrs or [0.01] * len(losses)
    out = [started(epochs=plan.pop("epochs", n), **plan)]
    per = len(losses) // n
    for e in range(n):
        part = slice(e * per, (e + 1) * per)
        out.append(StepStats(e, e * per, per, losses[part], norms[part], lrs[part], 1000.0))
        out.append(EpochEnded(e + 1, train[e], val[e], accuracy[e] if accuracy else None, lrs[part][-1], 1.0, 1000.0,
                              weight_norm=weight_norms[e] if weight_norms else None,
                              clipped_steps=clipped[e] if clipped else None, steps=per))
    out += list(extra)
    if status is not None:
        out.append(RunEnded(status, "test", summary or {"status": status}))
    return out


def falling(n, start=2.3, end=0.2):
    return [start * (end / start) ** (e / (n - 1)) for e in range(n)]


def rising_val(best_at: int, n: int, rise: float, floor: float = 0.5) -> list[float]:
    """A validation loss falling to ``floor`` at epoch ``best_at`` (1-based), then rising by ``rise``
    of it in a straight line to the last epoch."""
    down = [floor + (2.0 - floor) * (1 - e / (best_at - 1)) for e in range(best_at)]
    up = [floor * (1 + rise * (e + 1) / (n - best_at)) for e in range(n - best_at)]
    return down + up
