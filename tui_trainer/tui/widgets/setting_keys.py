"""The settings panel's settings as keys and text, free of Textual: which rows each group has, their
labels, their widgets' ids, each key's declared type and help (a plugin's setting as the plugin declares
it, :mod:`.plugin_rows`), its value in a config, and an input's text read as that type and back."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from ...config import Config
from ...config.fields import field_types, variant_tables
from ...config.schema import ModelConfig
from .plugin_rows import plugin_field, plugin_value

TRAIN_FIELDS = ("epochs", "lr", "batch_size", "seed")
DATA_FIELDS = ("dataset", "path", "seq_len", "random_offsets", "column", "date_column", "window", "horizon", "season",
               "transform", "val_periods", "test_periods", "image_size", "color", "val_fraction", "test_fraction",
               "split_seed", "python.loader")
#: model.kind, then each family's settings (only the chosen family's rows are shown); a free table (the
#: arguments of a user's callable) is edited in the preset file, not here.
MODEL_FIELDS = ("kind", *(f"{family}.{f.name}" for family in variant_tables(ModelConfig)
                          for f in dataclasses.fields(field_types(ModelConfig)[family])
                          if typing.get_origin(field_types(field_types(ModelConfig)[family])[f.name]) is not dict))
LABELS = {"p": "p", "warmup_epochs": "warm-up epochs", "warmup_steps": "warm-up steps",
          "random_offsets": "random offsets", "date_column": "date column", "val_periods": "val periods",
          "test_periods": "test periods", "warmup_start_factor": "warm-up from ×",
          "exclude_bias_and_norm": "skip bias & norm", "restore_best": "restore best", "min_delta": "min delta",
          "step_size": "step size", "min_lr": "min lr", "pct_start": "pct start", "div_factor": "div factor",
          "final_div_factor": "final div", "batch_size": "batch size", "val_fraction": "val fraction",
          "split_seed": "split seed", "kernel_size": "kernel size", "pool_every": "pool every",
          "fc_hidden": "fc hidden", "hidden_size": "hidden size", "num_layers": "layers", "image_size": "image size",
          "test_fraction": "test fraction", "conv_bias": "conv bias", "crop_padding": "crop padding",
          "input_shape": "built for", "seq_len": "seq len", "embedding_dim": "embedding", "factory": "factory",
          "loader": "loader"}


def widget_id(key: str) -> str:
    return "f-" + key.replace(".", "--")


def key_of(widget_id_: str | None) -> str | None:
    if not widget_id_ or not widget_id_.startswith("f-"):
        return None
    return widget_id_[2:].replace("--", ".")


def group_of(key: str) -> str:
    """``tricks.dropout.p`` -> ``dropout``; ``train.lr`` -> ``train``; ``name`` -> ``train``."""
    parts = key.split(".")
    if len(parts) == 1:
        return "train"
    return parts[1] if parts[0] == "tricks" else parts[0]


def field_of(key: str) -> tuple[Any, dataclasses.Field]:
    """The declared type and the dataclass field of a dotted key (a plugin's setting: as it declares it)."""
    if (declared := plugin_field(key)) is not None:
        return declared
    cls: Any = Config
    parts = key.split(".")
    for part in parts[:-1]:
        cls = field_types(cls)[part]
    hints = field_types(cls)
    return hints[parts[-1]], {f.name: f for f in dataclasses.fields(cls)}[parts[-1]]


def value_of(config: Config, key: str) -> Any:
    try:
        return plugin_value(config, key)
    except KeyError:
        pass  # one of the schema's settings
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def text_of(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def parse_text(kind: Any, text: str) -> Any:
    """The value an input's text stands for; ValueError says what was expected."""
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}") from None
    if typing.get_origin(kind) is tuple:  # "32, 64, 64" (or "[32, 64, 64]"); "0.5, 0.75"
        item = typing.get_args(kind)[0]
        try:
            inner = text.strip().strip("[]").strip()
            return [item(part) for part in inner.split(",")] if inner else []
        except ValueError:
            raise ValueError(f"expected {'integers' if item is int else 'numbers'} separated by commas") from None
    return text
