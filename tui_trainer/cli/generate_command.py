"""``tui-trainer generate RUN``: text from a finished (or stopped) text run's best weights."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UserError
from .common import complete_run, fail, runs_dir_option


def generate(
    run: str = typer.Argument(..., help="Run folder, id, a unique part of the id, or `latest`.",
                              autocompletion=complete_run),
    prompt: str = typer.Option("", "--prompt", "-p", help="Text to start from (default: one random character)."),
    length: int = typer.Option(300, "--length", "-n", help="Characters to generate after the prompt."),
    temperature: float = typer.Option(0.8, "--temperature", "-t",
                                      help="Below 1: safer, more repetitive; above 1: wilder."),
    top_k: int = typer.Option(0, "--top-k", "-k", help="Draw only from the k likeliest characters (0: all)."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same text."),
    threads: int = typer.Option(1, "--threads", min=0,
                                help="CPU threads for torch; 0 = one per core. One is the default: a character "
                                     "at a time is too little work to share, and a busy machine slows a "
                                     "shared one down."),
    runs_dir: Path = runs_dir_option("The runs folder (to find RUN by id)."),
) -> None:
    """Sample text from a language-model run's best weights (its last ones if it kept none)."""
    import torch

    from ..data import dataset_spec
    from ..engine.checkpoint import load_checkpoint
    from ..engine.generate import generate_text
    from ..models import build_model
    from ..runs.catalog import resolve_run
    from ..runs.folder import BEST, LAST

    if threads > 0:
        torch.set_num_threads(threads)
    try:
        info = resolve_run(run, runs_dir)
        if info.config is None:
            raise UserError(f"{info.path}: its config.toml cannot be read ({info.config_error})")
        config = info.config
        spec = dataset_spec(config.data)
        if not spec.kind.per_position:
            raise UserError(f"{info.path}: a {spec.kind.words} run ({config.data.dataset}); generate needs a text run")
        weights = info.path / BEST if (info.path / BEST).exists() else info.path / LAST
        if not weights.exists():
            raise UserError(f"{info.path}: no {BEST} or {LAST} to generate from")
        state = load_checkpoint(weights)["model"]
        model = build_model(spec, config)
        size = state["head.weight"].shape[0] if "head.weight" in state else None  # the language models' per-step head
        if size != spec.num_classes:
            raise UserError(f"{info.path}: the run learnt {size} characters, its text now gives {spec.num_classes}: "
                            f"{config.data.path or 'the default corpus'} changed since it trained")
        model.load_state_dict(state)
        typer.echo(generate_text(model, spec.classes, prompt, length, temperature, top_k, seed))
    except UserError as exc:
        fail(str(exc), exc.exit_code)
