"""Plain-text tables for the terminal: columns padded to their widest cell, the header
underlined, and, given a width, the columns that may wrap narrowed (widest first) and their
cells wrapped onto more lines, so a table fits an 80-column terminal. Piped output keeps every
row on one line, for grep."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from typing import Iterable

GAP = 2  # spaces between columns
NARROWEST = 12  # a wrapped column keeps at least this many characters


def terminal_width() -> int | None:
    """The width to fit: ``COLUMNS`` when set, the terminal's on a terminal, else None (a pipe)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def table(header: list[str], rows: Iterable[list[str]], right: set[int] = frozenset(), underline: bool = True,
          wrap: set[int] = frozenset(), width: int | None = None, drop: tuple[int, ...] = (),
          narrowest: int = NARROWEST) -> str:
    """Columns padded to their widest cell (``right``: right-aligned), the header underlined. With
    ``wrap`` (the columns that may wrap, e.g. a description) and ``width`` (default: the
    terminal's), those columns are narrowed until the table fits, none below ``narrowest``; if it
    still does not, the columns of ``drop`` go, in that order (the least needed first)."""
    rows = [header, *rows]
    limit = width if width is not None else (terminal_width() if wrap or drop else None)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    if limit is not None:
        widths = _fit(widths, wrap, limit, narrowest)
        gone = [i for n, i in enumerate(drop) if _width(widths, set(drop[:n])) > limit]  # the fewest that must go
        if gone:
            keep = [i for i in range(len(header)) if i not in gone]
            at = {old: new for new, old in enumerate(keep)}
            return table([header[i] for i in keep], [[r[i] for i in keep] for r in rows[1:]],
                         {at[i] for i in right if i in at}, underline, {at[i] for i in wrap if i in at}, limit,
                         narrowest=narrowest)
    lines = []
    for n, row in enumerate(rows):
        cells = [textwrap.wrap(c, w) or [""] if i in wrap and len(c) > w else [c] for i, (c, w) in
                 enumerate(zip(row, widths))]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "") for c in cells]
            lines.append((" " * GAP).join(p.rjust(w) if i in right else p.ljust(w)
                                          for i, (p, w) in enumerate(zip(parts, widths))).rstrip())
        if n == 0 and underline:
            lines.append((" " * GAP).join("-" * w for w in widths))
    return "\n".join(lines)


def _width(widths: list[int], without: set[int] = frozenset()) -> int:
    kept = [w for i, w in enumerate(widths) if i not in without]
    return sum(kept) + GAP * (len(kept) - 1)


def _fit(widths: list[int], wrap: set[int], limit: int, narrowest: int = NARROWEST) -> list[int]:
    """Narrow the wrapping columns, the widest first, until the table is ``limit`` wide (or they
    are all at their narrowest)."""
    widths = list(widths)
    while sum(widths) + GAP * (len(widths) - 1) > limit:
        candidates = [i for i in wrap if widths[i] > narrowest]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        excess = sum(widths) + GAP * (len(widths) - 1) - limit
        widths[widest] = max(narrowest, widths[widest] - excess)
    return widths


def fit_text(text: str, width: int | None = None) -> str:
    """Each line wrapped to ``width`` (default: the terminal's, as tables fit it), its indent kept
    and its continuation indented two more; unchanged in a pipe."""
    limit = width if width is not None else terminal_width()
    if limit is None:
        return text
    out = []
    for line in text.splitlines() or [""]:
        indent = line[:len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, limit, subsequent_indent=indent + "  ", break_on_hyphens=False,
                             break_long_words=False) or [""]  # a path stays whole, to copy
    return "\n".join(out)
