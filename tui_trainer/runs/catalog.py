"""Runs after the fact: find them, summarise them, compare them (their curves: :mod:`.curves`).

No torch here: listing and comparing runs is instant. A run folder is any folder with a
``config.toml``; an ablation folder (``ablation.json``) holds one run folder per variant
and seed, and its runs are listed too.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, config_to_dict, load_config
from ..config.schema import Config, ModelConfig
from ..config.tricks import TRICKS
from ..config.writer import toml_value
from ..display import (
    baseline_lines,
    best_metrics,
    confusion_lines,
    duration,
    fmt,
    headline_cell,
    measured_time,
    metrics_text,
    peak_text,
    summary_rate,
)
from ..errors import UserError
from ..tables import fit_text, table
from .folder import CONFIG, METRICS, SUMMARY
from .lock import LOCK, holder

#: A run without a summary whose metrics changed this recently is taken to be running.
RUNNING_SECONDS = 60.0


class RunNotFound(UserError):
    pass


@dataclass
class RunInfo:
    path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    config: Config | None = None
    config_error: str | None = None

    @property
    def id(self) -> str:
        return self.path.name

    @functools.cached_property
    def status(self) -> str:
        """How the run stands, read once (a list read again sees it anew)."""
        if holder(self.path) is not None:  # a process trains it now
            return "running"  # also a resumed run, whose folder still holds the summary of its stop
        if self.summary.get("status"):
            return self.summary["status"]
        if (self.path / LOCK).exists():
            return "interrupted"  # its writer is gone and wrote no summary: killed
        metrics = self.path / METRICS  # a run from before the lock, or one that never got it (a process of torchrun)
        if metrics.exists() and time.time() - metrics.stat().st_mtime < RUNNING_SECONDS:
            return "running"
        return "interrupted"

    @property
    def preset(self) -> str:
        return self.config.name if self.config else self.summary.get("preset", "?")

    @property
    def tricks(self) -> list[str]:
        return self.config.tricks_on() if self.config else list(self.summary.get("tricks", []))


def load_run(path: Path | str) -> RunInfo:
    path = Path(path)
    if not path.is_dir():
        raise RunNotFound(f"{path}: no such run folder")
    if not (path / CONFIG).exists():
        raise RunNotFound(f"{path}: not a run folder (no {CONFIG})")
    info = RunInfo(path)
    try:
        info.config = load_config(path / CONFIG)
    except ConfigError as exc:
        info.config_error = str(exc).splitlines()[0]
    try:
        info.summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        info.summary = {"status": "unreadable", "reason": f"{SUMMARY}: {exc}"}
    return info


#: The files that make a folder a group of runs: an ablation, a sweep or a lab.
GROUP_FILES = ("ablation.json", "sweep.json", "lab.json")


def group_runs(path: Path) -> list[Path] | None:
    """The run folders of the ablation, sweep or lab folder ``path``; None when it is none of those."""
    if not any((path / name).exists() for name in GROUP_FILES):
        return None
    return [p for p in sorted(path.iterdir()) if (p / CONFIG).exists()]


def run_paths(runs_dir: Path | str) -> list[Path]:
    """The run folders under ``runs_dir`` and inside its ablation, sweep and lab folders, oldest first (by name)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for path in sorted(runs_dir.iterdir()):
        if (path / CONFIG).exists():
            found.append(path)
        elif (runs := group_runs(path)) is not None:
            found.extend(runs)
    return found


def scan_runs(runs_dir: Path | str) -> list[RunInfo]:
    """Every run under ``runs_dir`` (and inside its ablation folders), read, oldest first."""
    return [load_run(path) for path in run_paths(runs_dir)]


def training_now(runs_dir: Path | str) -> list[tuple[Path, dict[str, Any]]]:
    """The runs under ``runs_dir`` that a process trains now, with who (see :func:`~.lock.holder`)."""
    return [(path, info) for path in run_paths(runs_dir) if (info := holder(path)) is not None]


def run_ids(runs_dir: Path | str) -> list[str]:
    """The ids of the runs under ``runs_dir``, without reading them (for shell completion)."""
    return [path.name for path in run_paths(runs_dir)]


def started(path: Path) -> int:
    """When the run last began training (its ``config.toml`` is written then, a resume included),
    in nanoseconds; 0 when that cannot be read."""
    try:
        return (path / CONFIG).stat().st_mtime_ns
    except OSError:
        return 0


def resolve_run(ref: str | Path, runs_dir: Path | str) -> RunInfo:
    """A run by folder path, by id, by a unique part of its id, or ``latest``: the run that began
    training last, plain or inside an ablation, a sweep or a lab (ids cannot tell: a lab's runs
    are named after their arm, and a resumed run keeps its id)."""
    path = Path(ref)
    if path.is_dir():
        return load_run(path)
    if len(path.parts) > 1:  # a path, not an id: nothing there
        raise RunNotFound(f"{ref}: no such run folder")
    runs = scan_runs(runs_dir)
    if str(ref) == "latest" and runs:
        return max(runs, key=lambda r: (started(r.path), r.id))
    matches = [r for r in runs if r.id == str(ref)] or [r for r in runs if str(ref) in r.id]
    if len(matches) == 1:
        return matches[0]
    if not runs:
        raise RunNotFound(f"no runs in {runs_dir} yet, so none is {str(ref)!r}: `tui-trainer train digits-cnn "
                          f"--runs-dir {runs_dir}` makes one (or give the folder that has them with --runs-dir)")
    if not matches:
        raise RunNotFound(f"no run matches {str(ref)!r} in {runs_dir}; `tui-trainer runs list "
                          f"--runs-dir {runs_dir}` shows them")
    names = ", ".join(r.id for r in matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise RunNotFound(f"{str(ref)!r} matches {len(matches)} runs ({names}); give more of the id")


# -- formatting ---------------------------------------------------------------------------


SHORT = {name: trick.code for name, trick in TRICKS.items()}
LEGEND = "tricks: " + ", ".join(f"{v} {k}" for k, v in SHORT.items())


def list_table(runs: list[RunInfo], treated: dict[str, str] | None = None) -> str:
    """The runs in the order they began training, so the last line is ``latest`` (a lab's or a
    sweep's runs among the others, not after them by their folder's name). ``treated``: run id ->
    what the doctor's treatment of it found, beside its status."""
    treated = treated or {}
    rows = [
        [r.id, r.preset, " ".join(SHORT.get(t, t) for t in r.tricks) or "-",
         r.status + (f"; treated: {treated[r.id]}" if r.id in treated else ""),
         fmt(r.summary.get("best_val_loss")), headline_cell(r.summary), duration(r.summary.get("wall_seconds"))]
        for r in sorted(runs, key=lambda r: (started(r.path), r.id))
    ]
    text = table(["id", "preset", "tricks on", "status", "best val loss", "test score", "time"], rows, right={4, 5, 6},
                 wrap={1, 2}, drop=(6, 1))  # an id stays whole, to be copied
    return f"{text}\n\n{fit_text(LEGEND)}"


RESULTS = [
    ("status", "status", None),
    ("epochs run", "epochs_run", None),
    ("best epoch", "best_epoch", None),
    ("best val loss", "best_val_loss", ".4f"),
    ("best val", "best_val_metrics", None),
    ("test loss", "test_loss", ".4f"),
    ("test score", "headline", None),
    ("weights", "weights", None),
    ("skipped steps", "skipped_steps", None),
    ("time", "wall_seconds", "time"),
    ("speed", "speed", None),
    ("device", "device", None),
    ("precision", "precision", None),
]


def _result(run: RunInfo, key: str, spec: str | None) -> str:
    if key == "status":
        return run.status
    if key == "headline":
        return headline_cell(run.summary)
    if key == "speed":  # under its label: "not measured" for a run that crashed before it was
        return summary_rate(run.summary).removeprefix("speed ") if run.summary else "-"
    value = run.summary.get(key)
    if spec == "time":
        return measured_time(value)
    if key == "best_val_metrics":
        return metrics_text(best_metrics(run.summary))
    if key == "skipped_steps" and isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v) or "0"
    return fmt(value, spec) if spec else fmt(value)


def show_text(run: RunInfo, doctor: str = "") -> str:
    """``runs show``: ``doctor``, the doctor's one line on the run (from the layer above)."""
    lines = [f"run     {run.path}", f"preset  {run.preset}", f"tricks  {', '.join(run.tricks) or 'none'}"]
    if run.summary.get("reason"):
        lines.append(f"reason  {run.summary['reason']}")
    if doctor:
        lines.append(f"doctor  {doctor}")
    if run.summary.get("processes"):
        batch = f", global batch {run.config.train.batch_size}" if run.config is not None else ""
        lines.append(f"ddp     {run.summary['processes']} processes{batch}")
    for key, code in run.summary.get("code", {}).items():  # the user's own code: where, and its file's hash then
        digest = f" (sha256 {code['sha256'][:12]})" if code.get("sha256") else ""
        lines.append(f"code    {key}: {code['code']}{digest}")
    if run.config_error:
        lines.append(f"config  unreadable: {run.config_error}")
    lines += [f"warning {message}" for message in run.summary.get("warnings", [])]
    if run.summary.get("peak_memory"):
        lines.append(f"memory  peak {peak_text(run.summary['peak_memory'])}")
    lines.append("")
    lines.append(table(["result", ""], [[label, _result(run, key, spec)] for label, key, spec in RESULTS]))
    if baseline_lines(run.summary):
        lines += ["", "baselines", *(f"  {line}" for line in baseline_lines(run.summary))]
    if run.summary.get("confusion"):
        lines += ["", *confusion_lines(run.summary["confusion"])]
    files = [p.name for p in sorted(run.path.iterdir()) if not p.name.startswith(".")]
    lines += ["", f"files   {', '.join(files)}"]
    if run.config is not None:
        lines += ["", "settings that differ from the defaults:"]
        # of the same model family
        defaults = flatten(config_to_dict(Config(model=ModelConfig(kind=run.config.model.kind))))
        diffs = [[k, toml_value(v)] for k, v in flatten(config_to_dict(run.config)).items() if defaults.get(k) != v]
        lines.append(table(["key", "value"], diffs) if diffs else "  none")
    return "\n".join(lines)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def settings_that_differ(runs: list[RunInfo]) -> dict[str, list[Any]]:
    """Each dotted setting whose value is not the same in every run, with one value per run (None where unread)."""
    configs = [flatten(config_to_dict(r.config)) if r.config else {} for r in runs]
    keys = sorted({k for c in configs for k in c})
    return {k: [c.get(k) for c in configs] for k in keys if len({repr(c.get(k)) for c in configs}) > 1}


def compare_text(runs: list[RunInfo]) -> str:
    ids = [r.id for r in runs]
    diffs = [[k, *map(toml_value, values)] for k, values in settings_that_differ(runs).items()]
    parts = ["settings that differ:", table(["key", *ids], diffs) if diffs else "  none (same settings)", ""]
    parts.append("results:")
    parts.append(table(["", *ids], [[label, *[_result(r, key, spec) for r in runs]] for label, key, spec in RESULTS]))
    return "\n".join(parts)


def seed_groups(runs: list[RunInfo]) -> list[list[int]]:
    """Indexes of ``runs`` grouped by their settings apart from the seed (and the name), in order."""
    groups: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        if run.config is None:
            groups[f"#{i}"] = [i]
            continue
        settings = config_to_dict(run.config)
        settings.pop("name", None)
        settings["train"].pop("seed", None)
        groups.setdefault(json.dumps(settings, sort_keys=True, default=str), []).append(i)
    return list(groups.values())
