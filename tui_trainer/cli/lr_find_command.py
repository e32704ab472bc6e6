"""``tui-trainer lr-find PRESET``: the LR range test, its two suggestions, a PNG of the curve
(``-o``), and ``--apply`` to write the valley suggestion into the preset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..config.presets import DEFAULT_PRESET, load_preset
from ..errors import UserError
from ..usercode.trust import require_all
from .common import complete_preset, fail, threads_option, train_overrides, yes_option


def lr_find(
    preset: str = typer.Argument(DEFAULT_PRESET, help="Preset name or path.", autocompletion=complete_preset),
    start: float = typer.Option(1e-7, "--start", help="First learning rate of the sweep."),
    end: float = typer.Option(10.0, "--end",
                              help="Last learning rate (the sweep stops earlier once the loss blows up)."),
    steps: int = typer.Option(100, "--steps", help="Steps of the sweep, the LR growing by the same factor each."),
    set_: List[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override a setting of the preset. Repeatable."),
    threads: Optional[int] = threads_option(),
    yes: bool = yes_option(),
    out: Optional[Path] = typer.Option(None, "--output", "-o",
                                       help="Write the loss against the LR as a PNG here (needs matplotlib)."),
    apply: bool = typer.Option(False, "--apply", help="Write the valley suggestion into the preset's train.lr (a "
                                                      "bundled preset gets a user copy)."),
    as_json: bool = typer.Option(False, "--json", help="Print the curve and the suggestions as one JSON object."),
) -> None:
    """Sweep the learning rate exponentially on a copy of the model and suggest one: the steepest
    descent of the loss and the valley. The model, the optimizer and the RNG are untouched."""
    try:
        config, path = load_preset(preset, train_overrides(set_, threads=threads))
        require_all(config)  # the preset's own code: found, and said yes to
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    from ..engine.lr_find import check_range
    from ..engine.lr_find import lr_find as run_lr_find
    from ..launcher import Launcher
    from .data_progress import DataProgress

    loading = DataProgress()
    try:
        check_range(start, end, steps)
        if out is not None:  # the output and matplotlib checked before the sweep, not after it
            from ..runs.plot import pyplot

            pyplot(out, "lr-find -o")
        try:
            trainer = Launcher(config, progress=loading).prepare()  # as a run would be, without its folder
        finally:
            loading.close()
        result = run_lr_find(trainer.setup, trainer.parts, start, end, steps)
        if out is not None:
            from ..runs.plot import plot_lr_find

            plot_lr_find(result, out, config.name)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    else:
        typer.echo(f"lr range test of {config.name}: {len(result.lrs)} steps from {start:g}; {result.stopped}")
        for name in ("valley", "steepest"):
            value = getattr(result, name)
            typer.echo(f"  {name:<9} {value:.3g}   {result.how.get(name, '')}" if value else f"  {name:<9} -")
        if result.how.get("note"):
            typer.echo(f"  note: {result.how['note']}")
        typer.echo(f"  current train.lr = {config.train.lr:g}")
        if out is not None:
            typer.echo(f"wrote {out}")
    if apply:
        if result.valley is None:
            fail("--apply: the sweep gave no suggestion to apply (see the note above)")
        from ..config.presets import set_lr

        try:
            written = set_lr(path, config.name, result.valley)
        except UserError as exc:
            fail(str(exc), exc.exit_code)
        typer.echo(f"train.lr = {result.valley:.3g} written to {written}")
