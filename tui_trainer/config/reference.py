"""The preset reference, generated from the schema so it cannot drift.

    python -m tui_trainer.config.reference      # the tables, in Markdown

They stand in ``docs/presets.md`` between ``<!-- reference:start -->`` and
``<!-- reference:end -->``; a test keeps that part equal to this output.
"""

from __future__ import annotations

import dataclasses
import typing

from .writer import toml_value
from .fields import field_types
from .schema import Config
from .tricks import SCHEDULES, TRICKS

TRICK_PATHS = {f"tricks.{name}": trick for name, trick in TRICKS.items()}


def _schedule_kinds() -> list[str]:
    """Which parameters each kind of schedule reads, as the kinds declare it."""
    warmups = {"added": "a linear warm-up before it", "own": "its own (the warm-up settings must be 0)",
               "rise": "its rise (needed)"}
    out = ["Each `kind` reads:", "", "| kind | steps | reads | warm-up |", "| --- | --- | --- | --- |"]
    for name, kind in SCHEDULES.items():
        steps = "per batch" if kind.per_batch else "per epoch" + (", on `monitor`" if kind.watches else "")
        reads = ", ".join(f"`{p}`" for p in kind.reads) or "-"
        out.append(f"| `{name}` | {steps} | {reads} | {warmups[kind.warmup]} |")
    return [*out, ""]


#: What a table is followed by, beyond its keys.
AFTER = {"tricks.lr_schedule": _schedule_kinds}


def _type(kind) -> str:
    if typing.get_origin(kind) is tuple:
        return f"array of {typing.get_args(kind)[0].__name__}"
    if typing.get_origin(kind) is dict:
        return "table"
    return {bool: "bool", int: "int", float: "float", str: "string"}[kind]


def _constraints(meta) -> str:
    parts = []
    if "choices" in meta:
        parts.append(" / ".join(f"`{c}`" for c in meta["choices"]))
    if "gt" in meta:
        parts.append(f"> {meta['gt']}")
    if "min" in meta:
        parts.append(f">= {meta['min']}")
    if "max" in meta:
        parts.append(f"<= {meta['max']}")
    return ", ".join(parts)


def _table(cls, prefix: str, out: list[str], note: str = "") -> None:
    hints = field_types(cls)
    rows, nested = [], []
    instance = cls()
    for f in dataclasses.fields(cls):
        if f.metadata.get("plugin_table"):  # written [model.<plugin>]: what each plugin declares (tui-trainer plugins)
            continue
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            path = f"{prefix}.{f.name}" if prefix else f.name
            nested.append((kind, path, f.metadata.get("help", "") if path not in TRICK_PATHS else ""))
            continue
        rows.append(
            f"| `{f.name}` | {_type(kind)} | `{toml_value(getattr(instance, f.name))}` | "
            f"{_constraints(f.metadata)} | {f.metadata['help']} |"
        )
    if rows:
        trick = TRICK_PATHS.get(prefix)
        out.append(f"### `[{prefix}]`" + (f": {trick.title}" if trick else "") if prefix else "### top level")
        out.append("")
        if note:
            out += [f"Applies when {note}", ""]
        if trick:
            out += [f"Switch: `train --{trick.flag}/--no-{trick.flag}`, or its checkbox in the app. {trick.explain}",
                    ""]
        out.append("| key | type | default | allowed | meaning |")
        out.append("| --- | --- | --- | --- | --- |")
        out.extend(rows)
        out.append("")
        out.extend(AFTER[prefix]() if prefix in AFTER else [])
    for kind, path, help_ in nested:
        _table(kind, path, out, help_)


def reference() -> str:
    out: list[str] = []
    _table(Config, "", out)
    return "\n".join(out)


if __name__ == "__main__":
    print(reference())
