"""The settings panel's rows for installed plugins' own settings: a plugin family's ``[model.<name>]``
and a plugin dataset's ``[data.<name>]``, as its signature declares them (type, default, help, bounds),
shown while that family or dataset is chosen. A plugin that fails to load has no rows (``tui-trainer
plugins`` says why) and the panel works on without it. Free of Textual: keys and values only."""

from __future__ import annotations

import dataclasses
from typing import Any

from ...config import Config
from ...usercode import plugins
from ...usercode.refs import CodeError

KINDS = {"model": "models", "data": "datasets"}


def plugin_rows(group: str) -> list[str]:
    """``<plugin>.<setting>`` for every setting of every plugin of ``group`` (model or data) that loads."""
    out = []
    for name in plugins.names(KINDS[group]):
        try:
            plugin = plugins.load(KINDS[group], name)
        except CodeError:
            continue
        out += [f"{name}.{d.name}" for d in plugin.settings]
    return out


def _declared(key: str) -> tuple[str, str, plugins.Declared] | None:
    """(group, plugin name, its setting) of ``model.<plugin>.<setting>`` or ``data.<plugin>.<setting>``."""
    parts = key.split(".")
    if len(parts) != 3 or parts[0] not in KINDS or parts[1] not in plugins.names(KINDS[parts[0]]):
        return None
    try:
        plugin = plugins.load(KINDS[parts[0]], parts[1])
    except CodeError:
        return None
    found = next((d for d in plugin.settings if d.name == parts[2]), None)
    return (parts[0], parts[1], found) if found is not None else None


def plugin_field(key: str) -> tuple[Any, dataclasses.Field] | None:
    """The declared type of a plugin's setting and a field carrying its help and bounds, as the schema's have."""
    found = _declared(key)
    if found is None:
        return None
    declared, s = found[2], found[2].setting
    meta = {"help": s.help, **({"choices": s.choices} if s.choices else {}),
            **({"min": s.min} if s.min is not None else {}), **({"max": s.max} if s.max is not None else {})}
    return declared.kind, dataclasses.field(metadata=meta)


def chosen(config: Config, group: str) -> str:
    return config.model.kind if group == "model" else config.data.dataset


def plugin_value(config: Config, key: str) -> Any:
    """The setting's value in ``config`` where its plugin is chosen, else its default. KeyError: not a plugin's."""
    found = _declared(key)
    if found is None:
        raise KeyError(key)
    group, name, declared = found
    table = config.model.plugin if group == "model" else config.data.plugin
    return table.get(declared.name, declared.default) if chosen(config, group) == name else declared.default


def applies(key: str, choice: dict[str, str]) -> bool:
    """Whether an edit of ``key`` applies, with ``choice`` the model family and dataset chosen ({"model": ...,
    "data": ...}): any setting does but a plugin's whose plugin is not chosen (its row is hidden, its edit kept)."""
    parts = key.split(".")
    return not (len(parts) == 3 and parts[0] in KINDS and parts[1] in plugins.names(KINDS[parts[0]])
                and choice[parts[0]] != parts[1])
