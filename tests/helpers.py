"""What the tests share besides fixtures: the repository root, a Config maker, synthetic events,
and the check that a lab's verdict follows from the numbers in its lab.json."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_config(overrides: dict | None = None, **top):
    """A validated Config from dotted overrides, e.g. make_config({"train.epochs": 2}).
    Tests train on one thread: two threads collapse when anything else is busy."""
    from tui_trainer.config import config_from_dict

    raw = {"name": "test", "train": {"threads": 1}, **top}
    return config_from_dict(raw, "<test>", overrides or {})


def synthetic_events(preset: str = "cnn-mnist1d", epochs: int = 6, done: int | None = None, steps_per_epoch: int = 29,
                     lr: float = 0.003, run_dir: str | None = None) -> list:
    """The events of a run, made up but shaped like a real one (losses falling with a wobble, a
    cosine LR after a warm-up epoch, gradient norms with spikes clipped at 1, patience, an
    intervention halving the LR at step 100, ``last.pt`` each epoch when there is a folder),
    identical at every call: for pictures of the live view and the Runs view that do not depend
    on a clock or on this machine's speed. ``done``: epochs trained so far (all of them, and a
    RunEnded, when None)."""
    import math

    from tui_trainer.engine.events import (
        CheckpointSaved,
        EarlyStoppingState,
        EpochEnded,
        Intervention,
        RunEnded,
        RunStarted,
        StepStats,
    )

    total = epochs * steps_per_epoch
    pace = (lr / 0.003) ** 0.5  # a higher LR learns faster here, and settles higher
    events = [RunStarted(preset=preset, run_dir=run_dir, device="cpu", precision="fp32", threads=1, parameters=73578,
                         model=["features.0 Conv1d(1, 32, kernel_size=(5,))"], train_size=3600, val_size=400,
                         test_size=1000, batch_size=128, steps_per_epoch=steps_per_epoch, epochs=epochs, start_epoch=0,
                         tricks=["batchnorm", "dropout", "lr_schedule", "grad_clip", "weight_decay", "early_stopping"],
                         clip_threshold=1.0, patience=3, schedule="cosine",
                         lr_marks=[[steps_per_epoch, "warm-up ends"]])]
    best, best_epoch, wait = math.inf, 0, 0

    def lr_at(s):
        scale = 0.5 if s >= 100 else 1.0
        if s < steps_per_epoch:
            return scale * lr * (0.1 + 0.9 * s / steps_per_epoch)
        return scale * lr * 0.5 * (1 + math.cos(math.pi * (s - steps_per_epoch) / (total - steps_per_epoch)))

    for epoch in range(epochs if done is None else done):
        clipped = 0
        for first in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch, 16):
            steps = range(first, min(first + 16, (epoch + 1) * steps_per_epoch))
            if first < 100 <= steps[-1] + 1:
                events.append(Intervention(100, epoch, {"lr_scale": 0.5}, "app"))
            losses = [2.3 * math.exp(-s * pace / 40) + 0.05 * pace + 0.04 * math.sin(s * 1.7) for s in steps]
            norms = [0.6 + 0.5 * math.exp(-s / 60) + (3.0 if s % 23 == 7 else 0.0) for s in steps]
            lrs = [lr_at(s) for s in steps]
            clipped += sum(n > 1.0 for n in norms)
            events.append(StepStats(epoch, first, steps[-1] + 1 - epoch * steps_per_epoch, losses, norms, lrs, 12000.0))
        val = 0.9 * math.exp(-epoch * pace / 2) + 0.12 * pace + (0.03 if epoch == 4 else 0.0)
        improved = val < best
        best, best_epoch, wait = (val, epoch + 1, 0) if improved else (best, best_epoch, wait + 1)
        events.append(EpochEnded(epoch + 1, 2.3 * math.exp(-(epoch + 0.5) * steps_per_epoch / 40) + 0.05, val,
                                 0.97 - 0.5 * math.exp(-epoch), lrs[-1], 0.3, 12000.0, clipped_steps=clipped,
                                 steps=steps_per_epoch))
        events.append(EarlyStoppingState(epoch + 1, True, "val_loss", val, best, best_epoch, wait, 3, improved))
        if run_dir is not None and epoch + 1 < epochs:
            events.append(CheckpointSaved(epoch + 1, "last", f"{run_dir}/last.pt"))
    if done is None:
        summary = {"preset": preset, "status": "completed", "reason": f"reached the last epoch ({epochs})",
                   "epochs_run": epochs, "steps": total, "best_epoch": best_epoch, "best_val_loss": best,
                   "best_val_accuracy": 0.96, "weights": "best", "test_loss": best + 0.01, "test_accuracy": 0.955,
                   "wall_seconds": 41.0, "train_samples_per_second": 12000.0, "device": "cpu", "precision": "fp32",
                   "threads": 1, "tricks": events[0].tricks, "run_dir": run_dir,
                   "skipped_steps": {"nonfinite": 0, "grad_scaler": 0}}
        events.append(RunEnded("completed", summary["reason"], summary))
    return events


def write_run(runs_dir, name: str, config, events) -> "Path":
    """A run folder as a finished run leaves it (config.toml, metrics.jsonl, summary.json), from ``events``."""
    from tui_trainer.engine.events import RunEnded
    from tui_trainer.runs import RunFolder

    path = Path(runs_dir) / name
    path.mkdir(parents=True)
    folder = RunFolder(path)
    folder.write_config(config)
    for event in events:
        folder.sink(event)
        if isinstance(event, RunEnded):
            folder.write_summary(event.summary)
    folder.close()
    return path


def norms_not_skipped(events) -> list[float]:
    """The gradient norms of the steps the GradScaler took. fp16: a step whose gradients overflowed
    at the scale is skipped (the scaler lowers its scale and the run goes on); its norm is inf."""
    from tui_trainer.engine.events import StepsSkipped, StepStats

    skipped = {step for e in events if isinstance(e, StepsSkipped) and e.cause == "grad_scaler" for step in e.steps}
    return [n for e in events if isinstance(e, StepStats)
            for i, n in enumerate(e.grad_norms, e.first_step + 1) if i not in skipped]


def follows_from_its_numbers(folder, lab_name):
    """The verdict saved in lab.json follows from its results, checked here without the verdict's
    code: its headline is what its lines say (one seed anywhere: indicative; an expectation
    not measured: not "holds"), and each line comparing an arm with the reference carries the
    difference of the means computed here by hand, its sign agreeing with the word (better or
    worse) for the metric's direction."""
    import json
    import math
    import re
    import statistics

    import pytest

    from tui_trainer.experiments.labs import load_lab

    saved = json.loads((Path(folder) / "lab.json").read_text())
    lab = load_lab(lab_name)
    verdict, lines = saved["verdict"], saved["verdict"]["lines"]
    seeds = {r["arm"]: sum(1 for x in saved["results"] if x["arm"] == r["arm"]) for r in saved["results"]}
    if any("(indicative)" in line or "(one seed" in line for line in lines):
        assert verdict["outcome"] == "indicative", verdict
    if verdict["outcome"] == "holds":
        assert min(seeds.values()) >= 2 and not any("not measured here" in line for line in lines), verdict
        assert any(", as the lesson expects" in line or "earned a place" in line or "up to" in line
                   for line in lines), verdict
    checked = 0
    # several verdicts: each under a heading line (not indented); one: all the lines
    headings = [i for i, line in enumerate(lines) if not line.startswith(" ")] if len(lab.rules) > 1 else [0]
    sections = [lines[start:end] for start, end in zip(headings, [*headings[1:], len(lines)])]
    assert len(sections) == len(lab.rules)
    for rule, section in zip(lab.rules, sections):
        if rule.reference is None:
            continue
        means = {}
        for arm in rule.arms or [a.name for a in lab.arms]:
            values = [r["metrics"][rule.metric] for r in saved["results"]
                      if r["arm"] == arm and r["metrics"].get(rule.metric) is not None]
            if values and all(math.isfinite(v) for v in values):
                means[arm] = statistics.fmean(values)
        for line in section:
            found = re.match(r"\s*(.+?): .*\(Δ ([-+0-9.e]+)\)", line)
            if not found or found.group(1) not in means or rule.reference not in means:
                continue
            arm, delta = found.group(1), float(found.group(2))
            assert delta == pytest.approx(means[arm] - means[rule.reference], rel=5e-3, abs=1e-3), line
            word = re.search(r", (better|worse|higher|lower) than ", line)
            if word:  # a clear difference: its word agrees with the sign and the metric's direction
                up = delta > 0
                assert word.group(1) in ("higher" if up else "lower",
                                         "better" if up == (rule.goal == "max") else "worse"), line
            checked += 1
    return saved, checked


def cifar_batches(n: int = 20, seed: int = 0) -> dict[str, bytes]:
    """CIFAR-10's python batches: pickled dicts of 3072-byte rows (R, G, B planes) and labels."""
    import pickle

    import numpy as np

    rng, files = np.random.default_rng(seed), {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        files[name] = pickle.dumps({"batch_label": name, "data": rows, "labels": [int(i % 10) for i in range(n)]})
    files["batches.meta"] = pickle.dumps({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                          "frog", "horse", "ship", "truck"], "num_vis": 3072})
    return files


def png(color: tuple[int, int, int], size=(12, 10)) -> bytes:
    """A PNG of one colour."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def install_example_plugin(site: Path) -> None:
    """examples/plugin as pip installs it: its module, and a dist-info with the entry points of its own
    pyproject.toml (put ``site`` on the path, then ``plugins.forget()``)."""
    import shutil

    from tui_trainer.config.loader import tomllib

    plugin = REPO / "examples" / "plugin"
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    shutil.copy(plugin / "tui_trainer_example_plugin.py", site)
    dist_info(site, project["name"], project["version"], project["entry-points"])


def dist_info(site: Path, name: str, version: str, entry_points: dict) -> None:
    """What pip leaves for an installed package: its METADATA and entry_points.txt."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n"
        for group, points in entry_points.items()))
