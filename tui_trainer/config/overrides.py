"""Settings typed on top of a preset (``--set KEY=VALUE``, the app's edits, a sweep's grid): the value read
as a TOML literal, set into the raw document under its canonical key path (the old flat spelling of a
family's key made explicit), and a preset's own code named by a relative file made absolute."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from ..usercode.refs import KEYS as CODE_KEYS
from ..usercode.refs import absolute
from .checks import ConfigError
from .fields import field_types, variant_tables
from .schema import Config


def variant_holding(cls: type, key: str) -> str | None:
    """The variant table of ``cls`` that has a field ``key`` (the first, in the schema's order)."""
    hints = field_types(cls)
    for table in variant_tables(cls):
        if key in {f.name for f in dataclasses.fields(hints[table])}:
            return table
    return None


def canonical_key(parts: list[str]) -> list[str]:
    """A key path with the old flat spelling of a variant table's key made explicit:
    ``model.channels`` -> ``model.cnn.channels``."""
    cls: Any = Config
    out: list[str] = []
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            return out + parts[i:]
        hints = field_types(cls)
        if part not in hints:
            table = variant_holding(cls, part)
            if table is None:
                return out + parts[i:]
            out.append(table)
            cls = hints[table]
            hints = field_types(cls)
        out.append(part)
        cls = hints[part]
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a","b","c"], value). The value is read as a TOML
    literal (``0.3``, ``true``, ``[16, 32]``, ``"x"``); anything else is a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not p.strip() for p in parts):
        raise ConfigError([f"--set {text}: expected KEY=VALUE, e.g. --set train.lr=0.01"])
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return [p.strip() for p in parts], parsed


def apply_overrides(raw: dict, overrides) -> tuple[dict, dict[str, str]]:
    """Return a deep copy of ``raw`` with the overrides set, and a map from each overridden
    key path to the text that set it (for error messages).

    ``overrides`` is a dict of dotted keys to values, or a list whose items are
    ``"KEY=VALUE"`` strings (``--set``) or ``(key, value, label)`` tuples."""
    merged = deepcopy_toml(raw)
    origin: dict[str, str] = {}
    if isinstance(overrides, dict):
        overrides = [(key, value, f"{key}={value!r}") for key, value in overrides.items()]
    for item in overrides:
        if isinstance(item, str):
            parts, value = parse_override(item)
            label = f"--set {item}"
        else:
            key, value, label = item
            parts = key.split(".")
        parts = canonical_key(parts)
        node = merged
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError([f"{label}: {where} is a value, not a table"])
            node = child
        if ".".join(parts) in CODE_KEYS and isinstance(value, str):
            value = absolute(value, Path.cwd())  # typed: a file relative to where the command runs
        node[parts[-1]] = value
        origin[".".join(parts)] = label
    return merged, origin


def deepcopy_toml(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: deepcopy_toml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deepcopy_toml(v) for v in value]
    return value


def code_beside(raw: dict, folder: Path) -> None:
    """A preset's own code named by a relative file (``model.py:make``) is the file beside the preset:
    made absolute here, so that a run folder's copy of the settings names the same file."""
    for key in CODE_KEYS:
        table, sub, name = key.split(".")
        node = raw.get(table, {}).get(sub) if isinstance(raw.get(table), dict) else None
        if isinstance(node, dict) and isinstance(node.get(name), str):
            node[name] = absolute(node[name], folder)
