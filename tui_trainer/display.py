"""How numbers, durations, statuses and epochs read on screen: the same in the CLI, the app
and the runs tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine.events import EpochEnded

#: The colour of a run's status; any other status (diverged, failed) is red.
STATUS_COLOURS = {"completed": "green", "early_stopped": "green", "stopped": "yellow", "pruned": "yellow"}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "red")


#: How a task's metrics are labelled in lines of text (others go by their own name).
METRIC_LABELS = {"accuracy": "acc", "bits_per_char": "bpc", "perplexity": "ppl", "mae": "mae", "rmse": "rmse",
                 "mase": "mase"}
#: ... and in tables and summaries.
METRIC_NAMES = {"accuracy": "accuracy", "bits_per_char": "bits/char", "perplexity": "perplexity", "mae": "MAE",
                "rmse": "RMSE", "mase": "MASE"}


def headline(summary: dict[str, Any], short: bool = False) -> tuple[str, Any]:
    """The task's headline test metric of a run's summary: ``("test accuracy", 0.97)``
    (``short``: ``"test acc"``). Summaries written before tasks named one are classification's."""
    key = summary.get("headline") or "test_accuracy"
    value = test_value(summary, key)
    name = key.removeprefix("test_")
    return f"test {(METRIC_LABELS if short else METRIC_NAMES).get(name, name)}", value


def test_value(summary: dict[str, Any], key: str) -> Any:
    """A test metric of a summary: at the top level (loss, accuracy) or among ``test_metrics``."""
    return summary[key] if key in summary else (summary.get("test_metrics") or {}).get(key)


def metrics_text(metrics: dict[str, Any], spec: str = ".4f") -> str:
    """``acc 0.8825`` for ``{"val_accuracy": 0.8825}``: each metric by its short label, prefix dropped."""
    return "  ".join(f"{METRIC_LABELS.get(name.split('_', 1)[-1], name.split('_', 1)[-1])} {fmt(value, spec)}"
                     for name, value in metrics.items())


def epoch_metrics(event: "EpochEnded") -> dict[str, Any]:
    """The epoch's validation metrics besides the loss (events written before they carried
    ``metrics`` have classification's accuracy alone)."""
    return event.metrics or {"val_accuracy": event.val_accuracy}


def headline_cell(summary: dict[str, Any]) -> str:
    """The headline test metric for a table cell, with what it is: ``0.9700 acc``, ``2.1340 bpc``, ``0.52 mae``."""
    label, value = headline(summary, short=True)
    return fmt(value) if value is None else f"{fmt(value)} {label.removeprefix('test ')}"


def best_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The best epoch's validation metrics besides the loss, from a summary (old ones: accuracy)."""
    return summary.get("best_val_metrics") or {"val_accuracy": summary.get("best_val_accuracy")}


def epoch_line(event: "EpochEnded", epochs: int | str) -> str:
    """``epoch   3/30  train 0.4120  val 0.3904  acc 0.8825  lr 2.96e-03  10,512/s  0.4s``
    (a language model's speed in characters: ``23,104 tok/s``)."""
    rate = f"{event.tokens_per_second:,.0f} tok/s" if event.tokens_per_second else f"{event.samples_per_second:,.0f}/s"
    return (f"epoch {event.epoch:>3}/{epochs}  train {fmt(event.train_loss)}  val {fmt(event.val_loss)}  "
            f"{metrics_text(epoch_metrics(event))}  lr {fmt(event.lr, '.2e')}  {rate}  {event.seconds:.1f}s")


def rate_text(samples_per_second: float, tokens_per_sample: int = 0) -> str:
    """``3,512/s`` (samples), or for a language model ``23,104 tok/s`` (characters)."""
    if tokens_per_sample:
        return f"{samples_per_second * tokens_per_sample:,.0f} tok/s"
    return f"{samples_per_second:,.0f}/s"


def summary_rate(summary: dict[str, Any]) -> str:
    """A finished run's training speed: ``3,512 train samples/s`` or ``23,104 train tokens/s``;
    ``speed not measured`` for a run that ended before it was (a crash)."""
    if summary.get("train_tokens_per_second"):
        return f"{summary['train_tokens_per_second']:,.0f} train tokens/s"
    rate = summary.get("train_samples_per_second")
    return "speed not measured" if rate is None else f"{rate:,.0f} train samples/s"


def step_place(step: int, epoch: int, steps_per_epoch: int) -> str:
    """Where a global step falls, numbered as the status line numbers steps (within the epoch):
    ``epoch 3, step 55/450 (955 in all)``; ``step 955`` when the epoch's length is unknown."""
    in_epoch = step - epoch * steps_per_epoch
    if steps_per_epoch <= 0 or not 0 <= in_epoch <= steps_per_epoch:
        return f"step {step:,}"
    return f"epoch {epoch + 1}, step {in_epoch}/{steps_per_epoch} ({step:,} in all)"


def kept_weights(summary: dict[str, Any]) -> str:
    """Which weights a run's test scores are of: ``best weights, epoch 6``, ``last weights, best
    epoch 6``, or ``last weights, stopped before an epoch ended`` (no best epoch to name)."""
    best = summary.get("best_epoch")
    if best is None:
        return "last weights, stopped before an epoch ended"
    return f"best weights, epoch {best}" if summary.get("weights") == "best" else f"last weights, best epoch {best}"


def measured_time(seconds: float | None) -> str:
    """A run's time, or ``not measured`` (a run that crashed before its summary could time it)."""
    return "not measured" if seconds is None else duration(seconds)


def versus_baselines(summary: dict[str, Any], key: str | None = None) -> str:
    """Whether the run's headline test metric (or ``key``) beats each baseline's, in words, with
    the ratio: ``beats naive (1.13; 0.41×), beats seasonal_naive (1.53; 0.30×)``; "" when there is none."""
    baselines = summary.get("baselines") or {}
    key = key or summary.get("headline") or "test_accuracy"
    value = test_value(summary, key)
    scores = {name: values[key] for name, values in baselines.items() if values.get(key) is not None}
    if value is None or not scores:
        return ""
    better_high = summary.get("headline_mode", "max") == "max"
    parts = []
    for name, score in sorted(scores.items(), key=lambda item: item[1], reverse=better_high):
        beats = value > score if better_high else value < score
        ratio = f"; {value / score:.2f}×" if score else ""
        parts.append(f"{'beats' if beats else 'does not beat'} {name} ({score:.3g}{ratio})")
    return ", ".join(parts)


def baseline_lines(summary: dict[str, Any]) -> list[str]:
    """Plain words on the baselines: the headline test metric against each, and for a forecast
    of several steps, the first and the last step too. Empty when the run has no baselines."""
    head = versus_baselines(summary)
    if not head:
        return []
    label, _ = headline(summary)
    lines = [f"{label}: the model {head}"]
    horizon = (summary.get("forecast") or {}).get("horizon", 1)
    if horizon > 1:
        for step in (1, horizon):
            line = versus_baselines(summary, f"test_mae_h{step}")
            if line:
                lines.append(f"test MAE {step} step{'s' if step > 1 else ''} ahead: the model {line}")
    return lines


def load_text(cpu_percent: float | None, rss_mb: float | None, gpu_percent: float | None = None,
              gpu_mb: float | None = None) -> str:
    """``CPU 98%  RAM 412 MB  GPU 87% 3.1 GB``: a system-load sample (or peaks) in a few words."""
    parts = []
    if cpu_percent is not None:
        parts.append(f"CPU {cpu_percent:.0f}%")
    if rss_mb is not None:
        parts.append(f"RAM {megabytes(rss_mb)}")
    if gpu_percent is not None or gpu_mb is not None:
        percent = f" {gpu_percent:.0f}%" if gpu_percent is not None else ""
        parts.append("GPU" + percent + (f" {megabytes(gpu_mb)}" if gpu_mb is not None else ""))
    return "  ".join(parts)


def peak_text(peaks: dict[str, float]) -> str:
    """``RAM 412 MB, GPU 3.1 GB``: a summary's ``peak_memory``."""
    return ", ".join(f"{'RAM' if key == 'rss_mb' else 'GPU'} {megabytes(value)}" for key, value in peaks.items())


def megabytes(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt(value: Any, spec: str = ".4f") -> str:
    """A float with ``spec`` (``nan``/``inf`` as such), ``-`` for None, anything else as it is."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec) if math.isfinite(value) else str(value)
    return str(value)


def duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; ``-`` for None."""
    if seconds is None:
        return "-"
    m, s = divmod(max(0, int(round(seconds))), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def confusion_lines(confusion: dict[str, Any], name_width: int = 10, max_classes: int = 20) -> list[str]:
    """A test set's confusion matrix as text: rows are the true classes, columns the predictions,
    then each class's recall. Beyond ``max_classes`` classes, the ten most confused pairs instead."""
    classes, counts = list(confusion.get("classes") or []), confusion.get("counts") or []
    k = len(counts)
    classes = (classes + [str(i) for i in range(len(classes), k)])[:k]
    total = sum(map(sum, counts))
    right = sum(counts[i][i] for i in range(k))
    head = f"confusion on the test set: rows true, columns predicted; {right:,} of {total:,} right"
    if k > max_classes:
        pairs = sorted(((counts[i][j], i, j) for i in range(k) for j in range(k) if i != j), reverse=True)[:10]
        return [head, "most confused (true -> predicted):",
                *(f"  {classes[i]} -> {classes[j]}: {n:,}" for n, i, j in pairs if n)]
    cell = max(3, len(f"{max((max(row) for row in counts), default=0):,}"))
    named = classes != [str(i) for i in range(k)]  # names beside the indices, unless they are the indices
    label = min(name_width, max((len(c) for c in classes), default=1)) if named else 0
    lines = [head, " " * (label + 3 + named) + " ".join(f"{j:>{cell}}" for j in range(k)) + "  recall"]
    for i, row in enumerate(counts):
        n = sum(row)
        recall = f"{row[i] / n:.2f}" if n else "  -"
        name = f"{classes[i][:label]:<{label}} " if named else ""
        lines.append(f"{i:>2} {name}" + " ".join(f"{v:>{cell},}" for v in row) + f"  {recall}")
    return lines


def sparkline(values: list[float], width: int) -> str:
    """``values`` as one row of ▁▂▃▄▅▆▇█ of at most ``width`` characters (means of equal chunks)."""
    if not values or width < 1:
        return ""
    n = min(width, len(values))
    chunks = [values[i * len(values) // n : (i + 1) * len(values) // n] for i in range(n)]
    means = [sum(c) / len(c) for c in chunks]
    lo, hi = min(means), max(means)
    return "".join("▁▂▃▄▅▆▇█"[min(7, int((m - lo) / (hi - lo) * 8)) if hi > lo else 0] for m in means)


def data_lines(datasets: Any, width: int = 80, colour: bool = True) -> list[Any]:
    """What a dataset is, for ``tui-trainer data`` and the app's Data view: its source and splits,
    then a look at it that suits its task: pictures of each class, the text it begins with, or
    the series as a sparkline with its periods. Without ``colour`` (a pipe, a file) the pictures
    are drawn in characters of growing ink (:data:`INK`)."""
    from rich.markup import escape
    from rich.text import Text

    spec = datasets.spec
    if spec.kind.per_position:
        what = (f"sequences of {spec.input_shape[-1]} characters, a vocabulary of {spec.num_classes} symbols "
                "(with the unknown one)")
    elif spec.kind.values:
        channels = spec.input_shape[0]
        what = (f"windows of {spec.input_shape[-1]} values ({channels} channel{'s' if channels > 1 else ''}) predict "
                f"the next {spec.num_classes}")
    else:
        what = f"samples of {spec.shape_text}, {spec.num_classes} classes"
    lines = [Text.from_markup(f"[b]{spec.name}[/]  {escape(spec.source)}"),
             Text(f"{what}; {len(datasets.train):,} train / {len(datasets.val):,} validation / "
                  f"{len(datasets.test):,} test; {datasets.mode_detail}")]
    if datasets.stats is not None:
        mean, std = datasets.stats
        lines.append(Text("normalised per channel with the training split's mean "
                          f"{', '.join(f'{v:.1f}' for v in mean.tolist())} and std "
                          f"{', '.join(f'{v:.1f}' for v in std.tolist())} (of 255)"))
    if spec.no_flip:
        lines.append(Text(f"augment: no horizontal flips here ({spec.no_flip})"))
    lines += [Text(f"note: {note}", style="yellow") for note in datasets.notes]
    lines.append(Text(""))
    if len(spec.input_shape) == 3:
        lines += gallery(datasets.samples(), max(20, width), size=16, colour=colour)
    elif spec.kind.per_position:
        start = "".join(spec.classes[i] for i in datasets.train.x[:3].reshape(-1).tolist())
        lines += [Text("the training text begins:", style="dim"), Text(start[:400], style="italic")]
    elif spec.kind.values and datasets.targets.get("values"):
        t = datasets.targets
        lines += [Text(f"{t.get('column', 'the series')}, {t['dates'][0]} to {t['dates'][-1]} "
                       f"({min(t['values']):.4g} to {max(t['values']):.4g}):", style="dim"),
                  Text(sparkline(t["values"], max(10, width)))]
    else:
        lines.append(Text(f"classes: {', '.join(spec.classes)} (1-D samples: no pictures to draw)"))
    return lines


INK = " .:-=+*#%@"  # brightness, dark to light, where there is no colour


def halfblock(image: Any, size: int = 16, colour: bool = True) -> list[Any]:
    """An image (C, H, W) uint8, 1 or 3 channels, as rich ``Text`` rows of upper half blocks:
    each character shows two pixels, the top one in the foreground colour, the bottom in the
    background. The image is scaled to ``size`` pixels a side (block averages down, nearest up).
    Without ``colour``, each character is the two pixels' mean brightness in :data:`INK`."""
    import numpy as np
    from rich.style import Style
    from rich.text import Text

    picture = np.asarray(image, dtype=np.float32)
    picture = picture if picture.shape[0] == 3 else np.repeat(picture[:1], 3, axis=0)
    _, h, w = picture.shape
    rows = np.minimum((np.arange(size) * h) // size, h - 1)
    cols = np.minimum((np.arange(size) * w) // size, w - 1)
    if h >= 2 * size and w >= 2 * size and h % size == 0 and w % size == 0:  # block average: no aliasing
        picture = picture.reshape(3, size, h // size, size, w // size).mean(axis=(2, 4))
    else:
        picture = picture[:, rows][:, :, cols]
    pixels = np.clip(picture, 0, 255).astype(np.uint8).transpose(1, 2, 0)  # (size, size, 3)
    lines = []
    for top in range(0, size - 1, 2):
        text = Text()
        for x in range(size):
            (r1, g1, b1), (r2, g2, b2) = pixels[top, x], pixels[top + 1, x]
            if colour:
                text.append("▀", Style(color=f"rgb({r1},{g1},{b1})", bgcolor=f"rgb({r2},{g2},{b2})"))
            else:
                light = (int(r1) + int(g1) + int(b1) + int(r2) + int(g2) + int(b2)) / (6 * 255)
                text.append(INK[min(len(INK) - 1, int(light * len(INK)))])
        lines.append(text)
    return lines


def gallery(samples: list[tuple[str, Any]], width: int = 80, size: int = 16, colour: bool = True) -> list[Any]:
    """Sample images side by side, each with its class name under it, wrapped to ``width`` columns."""
    from rich.text import Text

    per_row = max(1, (width + 1) // (size + 2))
    out: list[Any] = []
    for start in range(0, len(samples), per_row):
        chunk = samples[start : start + per_row]
        pictures = [halfblock(image, size, colour) for _, image in chunk]
        for r in range(len(pictures[0])):
            line = Text()
            for picture in pictures:
                line.append_text(picture[r])
                line.append("  ")
            out.append(line)
        out.append(Text("  ".join(f"{name[:size]:<{size}}" for name, _ in chunk)))
    return out
