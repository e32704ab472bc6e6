"""Model families and datasets from installed packages, through entry points: a package that declares

    [project.entry-points."tui_trainer.models"]
    tiny-mlp = "my_plugin:tiny_mlp"

    [project.entry-points."tui_trainer.datasets"]
    spirals = "my_plugin:spirals"

adds ``model.kind = "tiny-mlp"`` and ``data.dataset = "spirals"``. A family's callable is a model
factory as ``model.python.factory`` names one (called with the data's spec, its settings, and the
``batchnorm``/``dropout`` switches it takes); a dataset's is a loader as ``data.python.loader`` names
one. Their settings are their keyword parameters with defaults, typed by annotation or default, with
help and bounds from ``Annotated[int, Setting("help", min=1)]``: the table ``[model.tiny-mlp]`` (or
``[data.spirals]``) is checked against them as the built-in tables are, ``--set`` included.

The names are read without importing anything; a plugin is imported when a preset uses it, and one
that fails to import is named in one line while the rest of the tool works on. An installed package
is trusted as the code of any package you install: the trust asked of a preset's own files is not asked.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import typing
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

from .refs import CodeError, CodeRef

GROUPS = {"models": "tui_trainer.models", "datasets": "tui_trainer.datasets"}
#: The parameters a callable gets from the tool, not from its settings table.
GIVEN = {"models": ("spec", "batchnorm", "dropout"), "datasets": ()}
SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Setting:
    """A plugin setting's help and constraints, as ``Annotated[int, Setting("units per layer", min=1)]``."""

    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declared:
    """One setting: its type (a scalar, or a tuple of one), default, help and bounds."""

    name: str
    kind: Any
    default: Any
    setting: Setting = field(default_factory=Setting)


@dataclass(frozen=True)
class Plugin:
    kind: str  # models or datasets
    name: str
    value: str  # module:attribute, as the entry point gives it
    package: str  # the distribution that declares it
    function: Callable[..., Any]
    settings: tuple[Declared, ...]

    @property
    def where(self) -> str:
        return f"plugin {self.name!r} ({self.value}, from {self.package})"

    def ref(self, key: str) -> CodeRef:
        """The plugin's callable as the setting ``key`` names it, for the messages of :func:`~.calls.call`."""
        module, _, name = self.value.partition(":")
        return CodeRef(key, self.value, None, module, name)


@functools.cache
def names(kind: str) -> tuple[str, ...]:
    """The names the installed packages declare for ``kind`` (models or datasets), without importing them."""
    return tuple(sorted({ep.name for ep in metadata.entry_points(group=GROUPS[kind])}))


def forget() -> None:
    """Read the installed packages again (after one was installed, or a test put one on the path)."""
    names.cache_clear()
    load.cache_clear()


def _entry(kind: str, name: str) -> metadata.EntryPoint:
    found = [ep for ep in metadata.entry_points(group=GROUPS[kind]) if ep.name == name]
    if not found:
        raise CodeError(f"no {kind[:-1]} plugin named {name!r} is installed")
    return found[0]


def _declared(name: str, parameter: inspect.Parameter, hints: dict[str, Any]) -> Declared:
    kind = hints.get(name, type(parameter.default))
    setting = Setting()
    if typing.get_origin(kind) is typing.Annotated:
        kind, *extra = typing.get_args(kind)
        setting = next((e for e in extra if isinstance(e, Setting)), setting)
    if kind in SCALARS or (typing.get_origin(kind) is tuple and typing.get_args(kind)[:1] in ((int,), (float,))):
        return Declared(name, kind, parameter.default, setting)
    raise CodeError(f"its setting {name!r} has type {kind!r}; a setting is a bool, int, float, str or "
                    "tuple[int, ...] / tuple[float, ...]")


@functools.cache
def load(kind: str, name: str) -> Plugin:
    """The plugin ``name`` of ``kind``, imported, with its settings read from its signature."""
    entry = _entry(kind, name)
    package = f"{entry.dist.name} {entry.dist.version}" if entry.dist is not None else "?"
    where = f"plugin {name!r} ({entry.value}, from {package})"
    try:
        function = entry.load()
    except Exception as exc:
        raise CodeError(f"{where} failed to load: {type(exc).__name__}: {exc}") from None
    if not callable(function):
        raise CodeError(f"{where} is {type(function).__name__}, not a function or class")
    try:
        hints = typing.get_type_hints(function, include_extras=True)
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError, NameError) as exc:
        raise CodeError(f"{where}: its signature cannot be read ({exc})") from None
    try:
        settings = tuple(_declared(n, p, hints) for n, p in parameters.items()
                         if n not in GIVEN[kind] and p.default is not inspect.Parameter.empty)
    except CodeError as exc:
        raise CodeError(f"{where}: {exc}") from None
    return Plugin(kind, name, entry.value, package, function, settings)


def _value(declared: Declared, value: Any, path: str) -> tuple[Any, str | None]:
    """``value`` as the setting takes it, or why it cannot be."""
    kind, s = declared.kind, declared.setting
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value):
            return None, f"expected an array of {item.__name__}, got {value!r}"
        return tuple(item(v) for v in value), None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return None, f"expected {kind.__name__}, got {type(value).__name__} {value!r}"
    if s.choices and value not in s.choices:
        return None, f"unknown choice {value!r}: expected one of {', '.join(s.choices)}"
    if s.min is not None and value < s.min:
        return None, f"must be at least {s.min} (got {value!r})"
    if s.max is not None and value > s.max:
        return None, f"must be at most {s.max} (got {value!r})"
    return value, None


def settings_of(plugin: Plugin, table: Any, path: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The plugin's settings from its table (defaults filled in), and the problems as (key path, message)."""
    if not isinstance(table, dict):
        return {}, [(path, f"expected a table, got {table!r}")]
    known = {d.name: d for d in plugin.settings}
    values, problems = {}, []
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known) or 'none'}"
            problems.append((f"{path}.{key}", f"unknown key{hint}"))
    for name, declared in known.items():
        if name not in table:
            values[name] = declared.default
            continue
        value, why = _value(declared, table[name], f"{path}.{name}")
        if why:
            problems.append((f"{path}.{name}", why))
        else:
            values[name] = value
    return values, problems
