"""Rules across settings, which no single field can check: a schedule with its own warm-up, a
Transformer without BatchNorm, a ResNet's depth, a dataset that needs a path; and a setting typed
on the command line that the chosen dataset or model family does not read."""

from __future__ import annotations

import dataclasses

from ..errors import UserError
from .fields import variant_tables
from .schema import DATA_READ_BY, SEQUENCE_DATASETS, Config, ModelConfig
from .tricks import SCHEDULES


class ConfigError(UserError):
    """One or more problems in a preset; ``str()`` gives one line per problem.
    ``items`` holds them as (source, key path, message) where the key is known."""

    def __init__(self, problems: list[str], items: list[tuple[str, str, str]] | None = None):
        self.problems = problems
        self.items = items or []
        super().__init__("\n".join(problems))


@dataclasses.dataclass(frozen=True)
class Problem:
    path: str
    message: str
    because: tuple[str, ...] = ()  # the other settings that make ``path`` wrong: a typed one is blamed first


def cross_checks(config: Config) -> list[Problem]:
    out = _schedule_checks(config) if config.tricks.lr_schedule.enabled else []
    if config.model.kind == "transformer":
        t = config.model.transformer
        if config.tricks.batchnorm.enabled:
            out.append(Problem("tricks.batchnorm.enabled", "a Transformer normalises with LayerNorm, part "
                                                            "of its architecture; BatchNorm would average over the "
                                                            "batch and every position, so a causal model would see "
                                                            "the characters it must predict: switch it off"))
        if t.d_model % t.num_heads:
            out.append(Problem("model.transformer.num_heads", f"d_model ({t.d_model}) must "
                                                               f"divide by num_heads ({t.num_heads})"))
        if t.context and t.context < config.data.seq_len:
            out.append(Problem("model.transformer.context", f"{t.context} positions are fewer than "
                                                             f"data.seq_len ({config.data.seq_len}): raise it, "
                                                             "or set 0 to take data.seq_len"))
    if config.model.kind == "resnet":
        r = config.model.resnet
        per = 2 * len(r.widths)
        if (r.depth - 2) % per:
            fits = ", ".join(str(per * n + 2) for n in range(1, 4))
            stages = len(r.widths)
            out.append(Problem("model.resnet.depth", f"{r.depth} is not 2 × blocks × {stages} stages + 2: with "
                                                      f"{stages} stages use {fits}, ..."))
    if config.tricks.augment.enabled and config.data.dataset in SEQUENCE_DATASETS:
        out.append(Problem("tricks.augment.enabled", f"random crops and flips are for images; {config.data.dataset} "
                                                      "is 1-D sequences: switch it off"))
    if config.model.kind == "python" and not config.model.python.factory:
        out.append(Problem("model.python.factory", 'model.kind = "python" needs the callable that builds the model: '
                                                   '"path/to/file.py:function" or "package.module:function"'))
    if config.data.dataset == "python" and not config.data.python.loader:
        out.append(Problem("data.python.loader", 'data.dataset = "python" needs the callable that gives the data: '
                                                 '"path/to/file.py:function" or "package.module:function"'))
    if config.data.dataset in ("image_folder", "npz") and not config.data.path:  # text has a default corpus
        what = ("a folder with one sub-folder of images per class" if config.data.dataset == "image_folder"
                else "a .npz file with x and y")
        out.append(Problem("data.path", f"data.dataset = {config.data.dataset!r} needs a path: {what}"))
    return out


def _schedule_checks(config: Config) -> list[Problem]:
    """What the chosen kind of schedule cannot take: a warm-up it has of its own, none where the
    warm-up is its rise, a final LR above the start."""
    sched, out = config.tricks.lr_schedule, []
    kind = SCHEDULES[sched.kind]
    warm = sched.warmup_epochs > 0 or sched.warmup_steps > 0
    if kind.warmup == "own" and warm:
        key = "warmup_steps" if sched.warmup_steps > 0 else "warmup_epochs"
        out.append(Problem(f"tricks.lr_schedule.{key}", f"{kind.warmup_rule}; set {key} = 0 "
                           f"(--set tricks.lr_schedule.{key}=0)", because=("tricks.lr_schedule.kind",)))
    if kind.warmup == "rise" and not warm:
        out.append(Problem("tricks.lr_schedule.warmup_steps",
                           f"{kind.warmup_rule}: give warmup_steps (e.g. 200) or warmup_epochs"))
    if kind.ends_at_min_lr and sched.min_lr >= config.train.lr:
        out.append(Problem("tricks.lr_schedule.min_lr", f"must be below train.lr ({config.train.lr})"))
    return out


#: Settings outside [data] and the model's tables that only some runs read: key -> (whether this run
#: reads it, which runs do).
READ_WHEN = {
    "train.loss": (lambda c: c.data.dataset in ("series", "python"),
                   "only a regression (a series, or your own data with real-valued targets) reads it; classes and "
                   "characters use cross-entropy"),
    "train.nesterov": (lambda c: c.train.optimizer == "sgd", "only SGD reads it (train.optimizer = \"sgd\")"),
}


def unread_override(config: Config, origin: dict[str, str]) -> str | None:
    """Why a setting typed on the command line (``--set``, ``--grid``: its label starts with
    ``--``) does nothing here, or None. The app's panel keeps such edits when the dataset changes,
    and hides their rows, so only the command line's are refused."""
    typed = [(key, label) for key, label in origin.items() if label.startswith("--")]
    for key, label in typed:
        parts = key.split(".")
        if parts[0] == "model" and len(parts) >= 3 and parts[1] in variant_tables(ModelConfig) \
                and parts[1] != config.model.kind:
            return (f"{label}: {key}: the model is {config.model.kind!r} (model.kind), which does not read "
                    f"[model.{parts[1]}]; set model.kind too, or drop it")
    for key, label in typed:
        readers = DATA_READ_BY.get(key.removeprefix("data."), ()) if key.startswith("data.") else ()
        if readers and config.data.dataset not in readers:
            return (f"{label}: {key}: {config.data.dataset} does not read it (only {', '.join(readers)} "
                    f"{'does' if len(readers) == 1 else 'do'}); drop it, or choose one of those datasets")
        if key in READ_WHEN and not READ_WHEN[key][0](config):
            return f"{label}: {key}: this run does not read it: {READ_WHEN[key][1]}; drop it"
    return None
