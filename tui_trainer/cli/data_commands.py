"""``tui-trainer data [PRESET]``: what a preset trains on, with a few of its images."""

from __future__ import annotations

from typing import List, Optional

import typer

from ..config.presets import DEFAULT_PRESET, load_preset
from ..errors import UserError
from .common import complete_preset, fail


def data(
    preset: Optional[str] = typer.Argument(None, help="Preset name or path (default cnn-mnist1d).", autocompletion=complete_preset,
                                           show_default=False),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Override a setting, e.g. --set data.dataset=digits."),
    width: int = typer.Option(0, "--width", help="Columns for the sample images (default: the terminal's)."),
) -> None:
    """Load the preset's data (downloading or decoding it on first use) and show its splits, shape,
    classes and one sample image per class in half-block characters."""
    from rich.console import Console

    from ..data import load_data
    from ..display import gallery
    from .data_progress import DataProgress

    loading = DataProgress()
    try:
        config, _ = load_preset(preset or DEFAULT_PRESET, list(set_))
        datasets = load_data(config.data, "cpu", loading)
    except UserError as exc:
        loading.close()
        fail(str(exc), exc.exit_code)
    loading.close()
    console = Console(highlight=False)
    spec = datasets.spec
    console.print(f"[b]{spec.name}[/]  {spec.source}")
    console.print(f"samples of {spec.shape_text}, {spec.num_classes} classes; {len(datasets.train):,} train / {len(datasets.val):,} "
                  f"validation / {len(datasets.test):,} test; {datasets.mode_detail}")
    if datasets.stats is not None:
        mean, std = datasets.stats
        console.print(f"normalised per channel with the training split's mean {', '.join(f'{v:.1f}' for v in mean.tolist())} "
                      f"and std {', '.join(f'{v:.1f}' for v in std.tolist())} (of 255)")
    if spec.no_flip:
        console.print(f"augment: no horizontal flips here ({spec.no_flip})")
    for note in datasets.notes:
        console.print(f"[yellow]skipped:[/] {note}")
    if len(spec.input_shape) == 3:
        console.print("")
        for line in gallery(datasets.samples(), width or console.width, size=16):
            console.print(line)
    else:
        console.print(f"classes: {', '.join(spec.classes)}")
