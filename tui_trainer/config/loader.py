"""Load, validate and override presets (writing them back is :mod:`.writer`).

Every problem names where it came from (the file, or the ``--set`` that caused
it) and the key path, e.g.::

    presets/cnn.toml: tricks.dropout.p: must be at most 0.95 (got 1.5)
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..usercode import plugins
from .checks import ConfigError, Problem, cross_checks, unread_override
from .fields import field_types, plugin_chooser, variant_key, variant_tables
from .overrides import apply_overrides, code_beside, deepcopy_toml, tomllib, variant_holding
from .schema import Config
from .writer import config_to_dict

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
            also = f"; {meta['also']}" if "also" in meta and not hint else ""
            out.append(Problem(path, f"unknown choice {value!r}: expected one of {', '.join(choices)}{extra}{also}"))
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
    data, plugin_settings = _plugin_table(cls, data, path, out)
    for key in data:
        if key not in fields or fields[key].metadata.get("plugin_table"):  # a plugin's table is [model.<its name>]
            out.append(Problem(_join(path, key), f"unknown key{_suggest(cls, key)}"))
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data or f.metadata.get("plugin_table"):
            continue
        kind = hints[name]
        sub = _join(path, name)
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, data[name], sub, out)
        elif typing.get_origin(kind) is dict:  # a free table: the keys are the user's (a callable's arguments)
            if isinstance(data[name], dict):
                values[name] = deepcopy_toml(data[name])
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
            meta = dict(f.metadata)
            if "plugins" in meta and data[name] not in meta["choices"]:  # the names installed plugins declare
                meta["choices"] = (*meta["choices"], *plugins.names(meta["plugins"]))
                meta["also"] = "or install the package of a plugin that declares it (tui-trainer plugins lists them)"
            converted = _scalar(kind, data[name], meta, sub, out)
            if converted is not None:
                values[name] = converted
    if plugin_settings is not None:
        values["plugin"] = plugin_settings
    if selector is not None:  # only the chosen table applies: the others keep their defaults
        chosen = values.get(selector, fields[selector].default)
        for name in variant_tables(cls):
            if name != chosen:
                values.pop(name, None)
    return cls(**values)


def _plugin_table(cls: type, data: dict, path: str, out: list[Problem]) -> tuple[dict, dict | None]:
    """``data`` without the table of the plugin its choice names (``[model.tiny-mlp]`` where ``kind =
    "tiny-mlp"``), and that table checked against the plugin's declared settings (None: no plugin chosen)."""
    chooser = plugin_chooser(cls)
    chosen = data.get(chooser.name) if chooser is not None else None
    if (chooser is None or not isinstance(chosen, str) or chosen in chooser.metadata["choices"]
            or chosen not in plugins.names(chooser.metadata["plugins"])):  # built in: no plugin looked for
        return data, None
    table = data.get(chosen, {})
    data = {k: v for k, v in data.items() if k != chosen}
    try:
        plugin = plugins.load(chooser.metadata["plugins"], chosen)
    except UserError as exc:
        out.append(Problem(_join(path, chooser.name), str(exc)))
        return data, None
    values, problems = plugins.settings_of(plugin, table, _join(path, chosen))
    out.extend(Problem(key, message) for key, message in problems)
    return data, values


def _lift_flat_keys(cls: type, data: dict) -> dict:
    """A copy of ``data`` with the keys of its variant tables written one level up (the
    flat ``[model]`` table of presets and run folders before 0.2: ``model.channels``) moved
    into their table (``model.cnn.channels``); a key already in the table wins."""
    hints = field_types(cls)
    lifted = dict(data)
    for key in data:
        table = variant_holding(cls, key)
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


def _suggest(cls: type, key: str) -> str:
    hints = field_types(cls)
    own = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("plugin_table")]
    candidates = {name: name for name in own}
    for table in variant_tables(cls):
        candidates.update({f.name: f"{table}.{f.name}" for f in dataclasses.fields(hints[table])})
    hint = difflib.get_close_matches(key, candidates, n=1)
    if hint:
        return f"; did you mean {candidates[hint[0]]!r}?"
    return f"; known keys: {', '.join(own)}"


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
    code_beside(raw, path.resolve().parent)
    return config_from_dict(raw, str(path), overrides)


def replace(config: Config, overrides: dict[str, Any] | list) -> Config:
    """A copy of ``config`` with dotted keys set, validated like ``--set`` (``overrides`` as
    :func:`apply_overrides` takes them)."""
    return config_from_dict(config_to_dict(config), "<config>", overrides)
