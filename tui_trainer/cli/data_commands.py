"""``tui-trainer data [PRESET]``: what a preset trains on, with a few of its images."""

from __future__ import annotations

from typing import List, Optional

import typer

from ..config.presets import DEFAULT_PRESET, load_preset
from ..errors import UserError
from ..usercode.trust import require_all
from .common import complete_preset, fail


def data(
    preset: Optional[str] = typer.Argument(None, help="Preset name or path (default cnn-mnist1d).",
                                           autocompletion=complete_preset, show_default=False),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override a setting, e.g. --set data.dataset=digits."),
    width: int = typer.Option(0, "--width", help="Columns for the sample images (default: the terminal's)."),
) -> None:
    """Load the preset's data (downloading or decoding it on first use) and show its splits and
    shape, then one sample image per class in half-block characters, the start of a text, or a
    series as a sparkline."""
    from rich.console import Console

    from ..data import load_data
    from ..display import data_lines
    from .data_progress import DataProgress

    loading = DataProgress()
    try:
        config, _ = load_preset(preset or DEFAULT_PRESET, list(set_))
        require_all(config)  # the preset's own code: found, and said yes to
        datasets = load_data(config.data, "cpu", loading)
    except UserError as exc:
        loading.close()
        fail(str(exc), exc.exit_code)
    loading.close()
    console = Console(highlight=False)
    colour = console.is_terminal and console.color_system is not None  # piped: pictures in characters of ink
    for line in data_lines(datasets, width or console.width, colour):
        console.print(line)
