"""How a schema field is declared: its default, its help line and its constraints in ``metadata``.

- ``help``: one line for docs, ``--help`` and the UI;
- ``min`` / ``max``: inclusive bounds; ``gt``: an exclusive lower bound;
- ``choices``: the allowed strings;
- ``variants``: on a choice field, whose choices name sibling tables of which only the
  chosen one applies (``model.kind`` and ``[model.cnn]`` / ``[model.lstm]``).
"""

from __future__ import annotations

import functools
import typing
from dataclasses import field, fields
from typing import Any


def _f(default: Any, help: str, **constraints: Any) -> Any:
    if isinstance(default, (list, tuple)):
        value = tuple(default)
        return field(default_factory=lambda: value, metadata={"help": help, **constraints})
    if isinstance(default, dict):  # a free table (a user's callable's keyword arguments): a fresh one each time
        return field(default_factory=lambda: dict(default), metadata={"help": help, **constraints})
    return field(default=default, metadata={"help": help, **constraints})


def _table(cls: type, help: str) -> Any:
    return field(default_factory=cls, metadata={"help": help})


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The declared type of each field of a schema class, resolved once (``typing.get_type_hints``
    evaluates the annotations anew at every call, which the settings panel does per keystroke)."""
    return typing.get_type_hints(cls)


def variant_key(cls: type) -> str | None:
    """The field of ``cls`` whose value picks one of its sub-tables (``model.kind``), or None.
    Its choices are the names of those sub-tables."""
    for f in fields(cls):
        if f.metadata.get("variants"):
            return f.name
    return None


def plugin_chooser(cls: type):
    """The field of ``cls`` whose value may name an installed plugin (``model.kind``, ``data.dataset``:
    its metadata ``plugins`` says of which kind), or None. That plugin's settings are the field marked
    ``plugin_table``, written ``[<table>.<the plugin's name>]``."""
    return next((f for f in fields(cls) if "plugins" in f.metadata), None)


def variant_tables(cls: type) -> tuple[str, ...]:
    key = variant_key(cls)
    return tuple(next(f for f in fields(cls) if f.name == key).metadata["choices"]) if key else ()
