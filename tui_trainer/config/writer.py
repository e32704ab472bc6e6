"""Presets written back: as plain data, as TOML text, as a file (atomically). Saving from the
app and loading again gives the same config."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import tomli_w

from ..atomic import atomic_write_text
from .fields import plugin_chooser, variant_key, variant_tables
from .schema import Config


def config_to_dict(config: Config) -> dict:
    """The config as plain data, as a preset file holds it: of the variant tables
    (``[model.cnn]``, ``[model.lstm]``), only the chosen one."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            cls = type(value)
            selector = variant_key(cls)
            skip = {t for t in variant_tables(cls) if t != getattr(value, selector)} if selector else set()
            out = {}
            for f in dataclasses.fields(value):
                if f.metadata.get("plugin_table"):  # a plugin's settings: [model.<its name>], where it is chosen
                    if getattr(value, f.name):
                        out[getattr(value, plugin_chooser(cls).name)] = convert(getattr(value, f.name))
                elif f.name not in skip:
                    out[f.name] = convert(getattr(value, f.name))
            return out
        if isinstance(value, (tuple, list)):
            return [convert(v) for v in value]
        if isinstance(value, dict):  # a free table: a copy, so the config stays as it was
            return {k: convert(v) for k, v in value.items()}
        return value

    return convert(config)


def toml_value(value: Any) -> str:
    """A setting as it reads in a TOML file (``true``, ``"cosine"``, ``[32, 64]``, ``0.003``); ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string escapes as JSON does (non-ASCII as is)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def dumps_config(config: Config) -> str:
    return tomli_w.dumps(config_to_dict(config))


def save_config(config: Config, path: Path | str) -> None:
    """Write the preset atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps_config(config))
