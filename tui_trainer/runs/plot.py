"""``tui-trainer runs plot``: the curves of one or more runs overlaid, as a PNG (matplotlib)."""

from __future__ import annotations

import io
import math
from pathlib import Path

from ..atomic import atomic_write
from ..engine.schedule import milestones
from ..errors import UserError
from .catalog import RunInfo, seed_groups
from .curves import read_curves


def _finite(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else math.nan for v in values]


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing mean over ``window`` steps (NaN-aware), to see the trend through batch noise."""
    out, total, count, queue = [], 0.0, 0, []
    for v in values:
        queue.append(v)
        if math.isfinite(v):
            total, count = total + v, count + 1
        if len(queue) > window:
            old = queue.pop(0)
            if math.isfinite(old):
                total, count = total - old, count - 1
        out.append(total / count if count else math.nan)
    return out


def _forecast(ax, forecasts) -> None:
    """The actual series over the test period (of the first run) and each run's predictions."""
    first = forecasts[0][1]
    dates = first["dates"]
    ax.plot(range(len(first["actual"])), first["actual"], color="0.35", linewidth=1.6, label="actual")
    for i, (run, f) in enumerate(forecasts):
        for j, (step, p) in enumerate(f["predicted"].items()):  # "1", and the last step when the horizon is longer
            xs = range(p["start"], p["start"] + len(p["values"]))
            ax.plot(xs, p["values"], color=f"C{i % 10}", linestyle="-" if j == 0 else "--", linewidth=1.2,
                    label=f"{run.id}: {step} ahead" if len(forecasts) > 1 else f"{step} ahead")
    ticks = list(range(0, len(dates), max(1, len(dates) // 8)))
    ax.set_xticks(ticks, [str(dates[t]) for t in ticks], fontsize=8)
    ax.set_title(f"test-period forecast of {first.get('column') or 'the series'}: actual and predicted", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


def pyplot(out: Path | str, what: str):
    """matplotlib's pyplot (headless), after checking ``out`` names a PNG in an existing folder."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError(f"{what} needs matplotlib: pip install "
                        "'tui-trainer[plot]' (or pip install matplotlib)") from None
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: the plot is written as PNG; give a file name ending in .png")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder for the plot")
    return plt


def _save(plt, fig, out: Path | str) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    try:
        atomic_write(Path(out), lambda handle: handle.write(buffer.getvalue()))
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    return Path(out)


def plot_lr_find(result, out: Path | str, preset: str) -> Path:
    """The LR range test's loss against the LR (log scale), raw and smoothed, with its two suggestions."""
    plt = pyplot(out, "lr-find -o")
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(result.lrs, _finite(result.losses), color="C0", alpha=0.3, linewidth=0.8, label="loss per step")
    ax.plot(result.lrs, _finite(result.smoothed), color="C0", linewidth=1.6, label=f"smoothed (EMA {result.beta:g})")
    for name, color in (("valley", "C2"), ("steepest", "C3")):
        value = getattr(result, name)
        if value:
            ax.axvline(value, color=color, linestyle="--", linewidth=1.2, label=f"{name} {value:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(f"{preset}: LR range test ({result.stopped})", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, out)


def _band(ax_loss, ax_val, ax_lr, ax_g, runs: list[RunInfo], curves: list, color: str) -> None:
    """Runs of the same settings over seeds: the mean of each curve and the band from its min to its max."""
    spe = curves[0].steps_per_epoch or 1
    label = f"{runs[0].preset} × {len(runs)} seeds (mean, min-max band)"

    def draw(ax, xs, series, **style):
        n = min(len(s) for s in series)
        if n == 0:
            return
        columns = [[s[k] for s in series] for k in range(n)]
        mean = [sum(c) / len(c) for c in columns]
        ax.fill_between(xs[:n], [min(c) for c in columns], [max(c) for c in columns], color=color, alpha=0.2,
                        linewidth=0)
        ax.plot(xs[:n], mean, color=color, **style)

    longest = max(curves, key=lambda c: len(c.steps))
    x = [s / spe for s in longest.steps]
    draw(ax_loss, x, [_smooth(_finite(c.loss), max(1, spe // 2)) for c in curves], linewidth=1.4, label=label)
    epochs = [e.epoch for e in max(curves, key=lambda c: len(c.epochs)).epochs]
    draw(ax_val, epochs, [_finite([e.val_loss for e in c.epochs]) for c in curves], linewidth=1.4, marker="o",
         markersize=3, label=label)
    ax_lr.plot(x[: len(curves[0].lr)], curves[0].lr[: len(x)], color=color, linewidth=1.2)
    draw(ax_g, x, [_finite(c.grad_norm) for c in curves], linewidth=0.8, alpha=0.9)


def _markers(run: RunInfo, c, color: str, ax_loss, ax_val, ax_lr, ax_g) -> None:
    """What happened under a run's curves: its best epoch (a star), interventions (dotted lines,
    labelled), skipped steps (crosses), the end of warm-up and step-schedule milestones (on the
    LR), and the share of steps clipped in each epoch (bars on the gradient norm's right axis)."""
    spe = c.steps_per_epoch or 1
    best = (run.summary or {}).get("best_epoch")
    val = {e.epoch: e.val_loss for e in c.epochs}
    if best in val:
        ax_val.plot([best], [val[best]], marker="*", markersize=13, color=color, markeredgecolor="black",
                    linestyle="none")
    for event in c.interventions:
        for ax in (ax_loss, ax_lr, ax_g):
            ax.axvline(event.step / spe, color=color, linestyle=":", linewidth=1.2)
        ax_loss.annotate(event.describe(), (event.step / spe, 1), xycoords=("data", "axes fraction"), rotation=90,
                         fontsize=7, va="top", ha="right", color=color)
    if c.skips:
        at = {s: v for s, v in zip(c.steps, c.loss) if math.isfinite(v)}
        points = [(s / spe, at[s]) for s in c.skips if s in at]
        if points:
            ax_loss.plot(*zip(*points), marker="x", color="red", linestyle="none", markersize=5)
    marks = c.lr_marks
    if not marks and run.config is not None:  # a run recorded before RunStarted carried them
        marks = milestones(run.config.tricks.lr_schedule, run.config.train.epochs, spe)
    for step, text in marks:
        if step <= (c.steps[-1] if c.steps else 0):
            ax_lr.axvline(step / spe, color=color, linestyle="--" if "warm" in text or "peak" in text else "-.",
                          linewidth=1, alpha=0.7)
            ax_lr.annotate(text, (step / spe, 0.02), xycoords=("data", "axes fraction"), fontsize=7, color=color,
                           rotation=90, ha="right")
    shares = [(e.epoch, e.clipped_steps / e.steps) for e in c.epochs if e.clipped_steps is not None and e.steps]
    if shares:
        twin = ax_g.twinx()
        twin.bar([e - 0.5 for e, _ in shares], [s for _, s in shares], width=0.9, color=color, alpha=0.15)
        twin.set_ylim(0, 1)
        twin.set_ylabel("share of steps clipped (bars)", fontsize=8)


def _weight_norms(ax, runs: list[RunInfo], curves: list, groups: list[list[int]], colors: dict[int, str]) -> None:
    """Each run's line in its curves' colour; the seeds of one setting share it and one label."""
    for group in groups:
        for i in group:
            points = [(e.epoch, e.weight_norm) for e in curves[i].epochs if e.weight_norm is not None]
            label = (runs[i].preset if len(group) > 1 else runs[i].id) if i == group[0] else None
            if points:
                ax.plot(*zip(*points), color=colors[i], marker="o", markersize=3, linewidth=1.2, label=label)
    ax.set_title("the weights' L2 norm (per epoch: every parameter of two dimensions or more)", fontsize=10)
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def plot_runs(runs: list[RunInfo], out: Path | str, weights: bool = False) -> Path:
    """``weights``: a row more, the weights' norm per epoch (weight decay at work)."""
    plt = pyplot(out, "runs plot")
    curves = [read_curves(run) for run in runs]
    forecasts = [(run, run.summary["forecast"]) for run in runs if (run.summary or {}).get("forecast")]
    extra = [row for row, wanted in (("forecast", forecasts), ("weights", weights)) if wanted]
    if extra:  # rows the width of the figure: the test period, actual against predicted; the weights' norm
        fig = plt.figure(figsize=(12, 7.5 + 3 * len(extra)))
        grid = fig.add_gridspec(2 + len(extra), 2)
        ax_loss, ax_val = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_lr, ax_g = fig.add_subplot(grid[1, 0], sharex=ax_loss), fig.add_subplot(grid[1, 1], sharex=ax_val)
        for row, name in enumerate(extra, start=2):
            if name == "forecast":
                _forecast(fig.add_subplot(grid[row, :]), forecasts)
            else:
                ax_w = fig.add_subplot(grid[row, :])
    else:
        fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
        (ax_loss, ax_val), (ax_lr, ax_g) = axes
    groups = seed_groups(runs)
    singles = [i for g in groups if len(g) == 1 for i in g]
    colors = {i: f"C{singles.index(i) % 10}" for i in singles}
    colors.update({i: f"C{(len(singles) + n) % 10}" for n, g in enumerate(g for g in groups if len(g) > 1) for i in g})
    if weights:
        _weight_norms(ax_w, runs, curves, groups, colors)
    # the same settings over seeds: a mean line and a min-max band
    for n, group in enumerate(g for g in groups if len(g) > 1):
        _band(ax_loss, ax_val, ax_lr, ax_g, [runs[i] for i in group], [curves[i] for i in group], colors[group[0]])
    for i, run, c in ((i, runs[i], curves[i]) for i in singles):
        color = colors[i]
        spe = c.steps_per_epoch or 1
        x = [s / spe for s in c.steps]
        loss = _finite(c.loss)
        ax_loss.plot(x, loss, color=color, alpha=0.25, linewidth=0.6)
        ax_loss.plot(x, _smooth(loss, max(1, spe // 2)), color=color, linewidth=1.4, label=run.id)
        ax_val.plot([e.epoch for e in c.epochs], _finite([e.val_loss for e in c.epochs]), color=color, marker="o",
                    markersize=3, linewidth=1.4, label=run.id)
        ax_lr.plot(x, c.lr, color=color, linewidth=1.2)
        ax_g.plot(x, _finite(c.grad_norm), color=color, alpha=0.7, linewidth=0.7)
        clip = run.config.tricks.grad_clip if run.config else None
        if clip is not None and clip.enabled and clip.mode == "norm":
            ax_g.axhline(clip.threshold, color=color, linestyle="--", linewidth=1, alpha=0.8)
        _markers(run, c, color, ax_loss, ax_val, ax_lr, ax_g)
    for ax, title, log in ((ax_loss,
                            "training loss (per step, and its trend; dotted: interventions, x: skipped steps)", True),
                           (ax_val, "validation loss (per epoch; star: the best epoch)", True),
                           (ax_lr, "learning rate", False),
                           (ax_g, "gradient norm before clipping (dashed: clip threshold)", True)):
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    for ax in (ax_lr, ax_g):
        ax.set_xlabel("epoch")
    ax_val.legend(fontsize=8, loc="upper right")
    fig.suptitle(", ".join(sorted({run.preset for run in runs})), fontsize=11)
    fig.tight_layout()
    return _save(plt, fig, out)
