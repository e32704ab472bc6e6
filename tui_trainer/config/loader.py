"""Load, validate and override presets (writing them back is :mod:`.writer`).

Every problem names where it came from (the file, or the ``--set`` that caused
it) and the key path, e.g.::

    presets/cnn.toml: tricks.dropout.p: must be at most 0.95 (got 1.5)
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from ..errors import UserError
from ..usercode.refs import KEYS as CODE_KEYS
from ..usercode.refs import absolute
from .fields import field_types, variant_key, variant_tables
from .checks import Problem
from .checks import cross_checks, unread_override
from .schema import Config
from .writer import config_to_dict


class ConfigError(UserError):
    """One or more problems in a preset; ``str()`` gives one line per problem.
    ``items`` holds them as (source, key path, message) where the key is known."""

    def __init__(self, problems: list[str], items: list[tuple[str, str, str]] | None = None):
        self.problems = problems
        self.items = items or []
        super().__init__("\n".join(problems))


# -- validation --------------------------------------------------------------


#: How a TOML value's type is named in messages; bool before int (a bool is an int in Python).
_TYPE_NAMES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "table"))


def _type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def _check_range(value: float, meta: dict, path: str, out: list[Problem]) -> bool:
    if "gt" in meta and not value > meta["gt"]:
        out.append(Problem(path, f"must be greater than {meta['gt']} (got {value!r})"))
        return False
    if "min" in meta and value < meta["min"]:
        out.append(Problem(path, f"must be at least {meta['min']} (got {value!r})"))
        return False
    if "max" in meta and value > meta["max"]:
        out.append(Problem(path, f"must be at most {meta['max']} (got {value!r})"))
        return False
    return True


def _scalar(kind: Any, value: Any, meta: dict, path: str, out: list[Problem]) -> Any:
    """Check one scalar value against its declared type; return the converted value or None."""
    if kind is bool:
        if not isinstance(value, bool):
            out.append(Problem(path, f"expected true or false, got {_type_name(value)} {value!r}"))
            return None
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(Problem(path, f"expected an integer, got {_type_name(value)} {value!r}"))
            return None
        return value if _check_range(value, meta, path, out) else None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(Problem(path, f"expected a number, got {_type_name(value)} {value!r}"))
            return None
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            out.append(Problem(path, f"expected a finite number, got {value!r}"))
            return None
        return value if _check_range(value, meta, path, out) else None
    if kind is str:
        if not isinstance(value, str):
            out.append(Problem(path, f"expected a string, got {_type_name(value)} {value!r}"))
            return None
        choices = meta.get("choices")
        if choices and value not in choices:
            hint = [ALIASES[value]] if ALIASES.get(value) in choices else difflib.get_close_matches(value, choices, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            out.append(Problem(path, f"unknown choice {value!r}: expected one of {', '.join(choices)}{extra}"))
            return None
        return value
    raise TypeError(f"unsupported schema type {kind!r} at {path}")  # a bug in schema.py


#: What people type for a choice that is spelt otherwise here: closer in meaning than in letters.
ALIASES = {"gpu": "cuda", "nvidia": "cuda", "apple": "mps", "metal": "mps", "adamw": "adam"}


def _build(cls: type, data: Any, path: str, out: list[Problem]) -> Any:
    if not isinstance(data, dict):
        out.append(Problem(path or "(top level)", f"expected a table, got {_type_name(data)} {data!r}"))
        return cls()
    hints = field_types(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    selector = variant_key(cls)
    if selector is not None:
        data = _lift_flat_keys(cls, data)
    for key in data:
        if key not in fields:
            out.append(Problem(_join(path, key), f"unknown key{_suggest(cls, key)}"))
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            continue
        kind = hints[name]
        sub = _join(path, name)
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, data[name], sub, out)
        elif typing.get_origin(kind) is dict:  # a free table: the keys are the user's (a callable's arguments)
            if isinstance(data[name], dict):
                values[name] = _deepcopy(data[name])
            else:
                out.append(Problem(sub, f"expected a table, got {_type_name(data[name])} {data[name]!r}"))
        elif typing.get_origin(kind) is tuple:
            (item_kind, _) = typing.get_args(kind)
            items = data[name]
            empty_ok = f.metadata.get("empty_ok", False)
            if not isinstance(items, list) or not (items or empty_ok):
                out.append(Problem(sub, f"expected a{'n' if empty_ok else ' non-empty'} array, got "
                                         f"{_type_name(items)} {items!r}"))
                continue
            converted = [_scalar(item_kind, item, dict(f.metadata), f"{sub}[{i}]", out) for i, item in enumerate(items)]
            if all(c is not None for c in converted):
                values[name] = tuple(converted)
        else:
            converted = _scalar(kind, data[name], dict(f.metadata), sub, out)
            if converted is not None:
                values[name] = converted
    if selector is not None:  # only the chosen table applies: the others keep their defaults
        chosen = values.get(selector, fields[selector].default)
        for name in variant_tables(cls):
            if name != chosen:
                values.pop(name, None)
    return cls(**values)


def _lift_flat_keys(cls: type, data: dict) -> dict:
    """A copy of ``data`` with the keys of its variant tables written one level up (the
    flat ``[model]`` table of presets and run folders before 0.2: ``model.channels``) moved
    into their table (``model.cnn.channels``); a key already in the table wins."""
    hints = field_types(cls)
    lifted = dict(data)
    for key in data:
        table = _variant_holding(cls, key)
        if table is None or key in hints:
            continue
        current = lifted.get(table)
        if current is None:
            current = {}
        elif isinstance(current, dict):
            current = dict(current)
        else:
            continue  # not a table: reported as such
        current.setdefault(key, lifted.pop(key))
        lifted[table] = current
    return lifted


def _variant_holding(cls: type, key: str) -> str | None:
    """The variant table of ``cls`` that has a field ``key`` (the first, in the schema's order)."""
    hints = field_types(cls)
    for table in variant_tables(cls):
        if key in {f.name for f in dataclasses.fields(hints[table])}:
            return table
    return None


def _suggest(cls: type, key: str) -> str:
    hints = field_types(cls)
    candidates = {f.name: f.name for f in dataclasses.fields(cls)}
    for table in variant_tables(cls):
        candidates.update({f.name: f"{table}.{f.name}" for f in dataclasses.fields(hints[table])})
    hint = difflib.get_close_matches(key, candidates, n=1)
    if hint:
        return f"; did you mean {candidates[hint[0]]!r}?"
    return f"; known keys: {', '.join(f.name for f in dataclasses.fields(cls))}"


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
            table = _variant_holding(cls, part)
            if table is None:
                return out + parts[i:]
            out.append(table)
            cls = hints[table]
            hints = field_types(cls)
        out.append(part)
        cls = hints[part]
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _validate(raw: dict, attribute) -> Config:
    problems: list[Problem] = []
    config = _build(Config, raw, "", problems)
    if not problems:
        problems = cross_checks(config)
    if problems:
        items = [(_blame(p, attribute), p.path, p.message) for p in problems]
        raise ConfigError([f"{source}: {path}: {message}" for source, path, message in items], items)
    return config


def _blame(problem: Problem, attribute) -> str:
    """Where a problem came from: its setting's source, or that of a setting it follows from when
    that one was typed (``--set tricks.lr_schedule.kind=onecycle`` against a preset's warm-up)."""
    labels = [attribute(key) for key in (problem.path, *problem.because)]
    return next((label for label in labels if label.startswith("--")), labels[0])


# -- public API --------------------------------------------------------------


def parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None


def read_toml(path: Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a folder, not a preset file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from None
    return parse_toml(text, str(path))


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
    merged = _deepcopy(raw)
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


def _deepcopy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


def config_from_dict(raw: dict, source: str = "<preset>", overrides=None) -> Config:
    """Validate ``raw`` (a parsed TOML document) plus overrides into a Config."""
    file_config = _validate(raw, lambda _path: source)  # the file's own problems first
    if not overrides:
        return file_config
    merged, origin = apply_overrides(raw, overrides)

    def attribute(path: str) -> str:
        for key, label in origin.items():
            if path == key or path.startswith(key + ".") or path.startswith(key + "[") or key.startswith(path + "."):
                return label  # the override's key, a part of it, or the table it made (an unknown one)
        return source

    config = _validate(merged, attribute)
    if problem := unread_override(config, origin):
        raise ConfigError([problem])
    return config


def load_config(path: Path | str, overrides=None) -> Config:
    path = Path(path)
    raw = read_toml(path)
    raw.setdefault("name", path.stem)
    _code_beside(raw, path.resolve().parent)
    return config_from_dict(raw, str(path), overrides)


def _code_beside(raw: dict, folder: Path) -> None:
    """A preset's own code named by a relative file (``model.py:make``) is the file beside the preset:
    made absolute here, so that a run folder's copy of the settings names the same file."""
    for key in CODE_KEYS:
        table, sub, name = key.split(".")
        node = raw.get(table, {}).get(sub) if isinstance(raw.get(table), dict) else None
        if isinstance(node, dict) and isinstance(node.get(name), str):
            node[name] = absolute(node[name], folder)


def replace(config: Config, overrides: dict[str, Any] | list) -> Config:
    """A copy of ``config`` with dotted keys set, validated like ``--set`` (``overrides`` as
    :func:`apply_overrides` takes them)."""
    return config_from_dict(config_to_dict(config), "<config>", overrides)
