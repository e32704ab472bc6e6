"""What the settings describe, worked out in the worker (it has torch; the app does not need it):
the dataset and its splits, the model and its size, the device, the precision and the threads,
and whether mixed precision can run here. Built from the registries, so a new dataset or model
family shows without a change."""

from __future__ import annotations

from typing import Any

from ..config import Config, ConfigError, replace


def torch_info() -> dict[str, Any]:
    """The facts the app shows once the worker is up."""
    import torch

    from ..engine.precision import resolve_device

    return {"device": str(resolve_device("auto")), "cuda": torch.cuda.is_available(), "torch": str(torch.__version__)}


def mixed_precision_reason(config: Config) -> str | None:
    """Why the mixed-precision switch cannot work here (short, for the switch's label), or None."""
    from ..engine.precision import why_not_on_this_machine

    try:
        why = why_not_on_this_machine(replace(config, {"tricks.mixed_precision.enabled": True}))
    except ConfigError:
        why = None
    return None if why is None else "unavailable: " + why.split(": ", 1)[-1].split(":")[0].split(";")[0]


def describe(config: Config, threads: int | None) -> dict[str, Any]:
    """``text`` (Rich markup, three lines), ``mixed_precision`` (see :func:`mixed_precision_reason`) and
    ``unavailable``: the model tricks a user's factory takes no argument for, each with why."""
    from ..data import dataset_spec, dataset_state, planned_mode, split_sizes
    from ..engine.precision import SetupError, choose_threads, resolve_device, resolve_precision
    from ..errors import UserError
    from ..models import build_model, count_parameters, layer_counts

    out: dict[str, Any] = {"mixed_precision": mixed_precision_reason(config), "unavailable": {}}
    from ..models.python import is_own, own_factory, refused_tricks

    if is_own(config):  # the model tricks the user's factory takes no argument for: greyed out
        try:
            out["unavailable"] = refused_tricks(own_factory(config)[1])
        except UserError as exc:
            out["text"] = f"[b]{config.name}[/]  [red]{exc}[/]"
            return out
        if on := [t for t in out["unavailable"] if getattr(config.tricks, t).enabled]:
            out["text"] = f"[b]{config.name}[/]  switching {', '.join(on)} off: {out['unavailable'][on[0]]}"
            return out  # the app greys them out, which switches them off and asks again
    try:
        spec = dataset_spec(config.data)
    except UserError as exc:  # the dataset, or the user's own loader (not found, not trusted, failing)
        out["text"] = f"[b]{config.name}[/]  {config.data.dataset}: [red]{exc}[/]"
        return out
    state = dataset_state(config.data)
    try:
        model = build_model(spec, config)
    except UserError as exc:
        out["text"] = f"[b]{config.name}[/]  {spec.name} {spec.shape_text}, {state}\n[red]{exc}[/]"
        return out
    train_n, val_n, test_n = split_sizes(config.data, spec)
    try:
        device = resolve_device(config.train.device)
        mode = planned_mode(config.data, spec, device)
        precision = resolve_precision(config, device).name
    except SetupError as exc:
        device, precision, mode = config.train.device, f"[red]{exc}[/]", ""
    threads = choose_threads(threads if threads is not None else config.train.threads)
    out["text"] = (f"[b]{config.name}[/]  {spec.name} {spec.shape_text}→{spec.num_classes}  "
                   f"{train_n:,}/{val_n:,}/{test_n:,} train/val/test  ({state})\n"
                   f"{config.model.kind.upper()} {count_parameters(model):,} params  on [b]{device}[/] "
                   f"[b]{precision}[/]  {threads} thread(s)  {mode}\n"
                   f"[dim]{layer_counts(model)}[/]")
    return out
