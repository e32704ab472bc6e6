"""A model from the user's own code (``model.kind = "python"``): the callable that
``model.python.factory`` names, called with the data's :class:`~tui_trainer.data.DataSpec` and the
keyword arguments of ``[model.python.args]``; or an installed plugin's family (``model.kind =
"<its name>"``), called so with its ``[model.<its name>]`` settings (:mod:`tui_trainer.usercode.plugins`).

The trick switches that act inside a model reach it as arguments where the callable takes them:
``batchnorm`` (true or false) and ``dropout`` (the probability; 0.0 with the switch off). Where it
does not take one, switching that trick on is refused in one line, never silently ignored. Every
other trick acts outside the model and works unchanged. Before any run folder exists, one batch
goes through the model, and an output of the wrong shape for the data is refused."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch import nn

from ..config.schema import MODEL_KINDS, Config
from ..config.tricks import MODEL_TRICKS, TRICKS
from ..data.spec import DataSpec
from ..usercode import plugins
from ..usercode.calls import call, load
from ..usercode.refs import CodeError, CodeRef, parse

#: The families built in here (``python`` is the user's factory).
BUILT_IN = tuple(kind for kind in MODEL_KINDS if kind != "python")


def takes(function: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments ``function`` accepts; None where it takes any (``**kwargs``) or cannot tell."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def refused_tricks(function: Callable[..., Any]) -> dict[str, str]:
    """The model tricks ``function`` takes no argument for, each with why (for the app's panel)."""
    accepted = takes(function)
    if accepted is None:
        return {}
    return {trick: f"the model's factory takes no {trick} argument" for trick in MODEL_TRICKS if trick not in accepted}


def is_own(config: Config) -> bool:
    """The model is the user's: their factory (``model.kind = "python"``) or an installed plugin's family."""
    return config.model.kind not in BUILT_IN


def own_factory(config: Config) -> tuple[CodeRef, Callable[..., Any], dict[str, Any]]:
    """The user's factory for ``config``'s model: a reference to it (for messages), the callable, and the keyword
    settings it is called with (``[model.python.args]``, or a plugin family's ``[model.<name>]``)."""
    if config.model.kind == "python":
        ref = parse("model.python.factory", config.model.python.factory)
        return ref, load(ref), dict(config.model.python.args)
    plugin = plugins.load("models", config.model.kind)
    return plugin.ref("model.kind"), plugin.function, dict(config.model.plugin)


def refused_switch(config: Config) -> str | None:
    """Why a trick switched on in ``config`` cannot reach the user's model (its factory takes no argument
    for it), or None: what an ablation leaves out, and the app greys out."""
    ref, factory, _ = own_factory(config)
    for trick, why in refused_tricks(factory).items():
        if getattr(config.tricks, trick).enabled:
            return f"tricks.{trick}: {why} ({ref.where})"
    return None


def _arguments(ref: CodeRef, factory: Callable[..., Any], kwargs: dict[str, Any], config: Config) -> dict[str, Any]:
    refused = refused_tricks(factory)
    for trick in MODEL_TRICKS:
        switch = getattr(config.tricks, trick)
        if trick in kwargs:
            raise CodeError(f"model.python.args.{trick}: set it with the switch tricks.{trick} (--{TRICKS[trick].flag} "
                            f"or --no-{TRICKS[trick].flag}), which the factory receives as {trick}=")
        if trick in refused:
            if switch.enabled:
                raise CodeError(f"tricks.{trick}: {ref.where} takes no {trick} argument, so the switch would do "
                                f"nothing; switch it off (--no-{TRICKS[trick].flag}) or give the function a "
                                f"{trick} parameter")
            continue
        kwargs[trick] = switch.enabled if trick == "batchnorm" else (switch.p if switch.enabled else 0.0)
    return kwargs


def own_model(spec: DataSpec, config: Config) -> nn.Module:
    """The user's model (their factory's, or a plugin family's), built for ``spec``."""
    ref, factory, kwargs = own_factory(config)
    model = call(ref, factory, spec, **_arguments(ref, factory, kwargs, config))
    if not isinstance(model, nn.Module):
        raise CodeError(f"{ref.key}: {ref.where} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def expected_output(spec: DataSpec, y: torch.Tensor) -> tuple[int, ...]:
    """The output shape the task needs for a batch whose targets are ``y``."""
    if spec.kind.per_position:
        return (*y.shape, spec.num_classes)  # a score for every token of the vocabulary, at every position
    if spec.kind.values:
        return tuple(y.shape)
    return (len(y), spec.num_classes)


@torch.no_grad()
def check_output(model: nn.Module, spec: DataSpec, x: torch.Tensor, y: torch.Tensor, config: Config) -> None:
    """One batch through the model in eval mode (no statistics change): an output the task cannot
    score is refused, naming the shape it needs."""
    ref = own_factory(config)[0]
    was_training = model.training
    model.eval()
    try:
        out = call(ref, model, x)
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise CodeError(f"{ref.key}: the model from {ref.where} returned {type(out).__name__} for a batch, not a "
                        "tensor")
    want = expected_output(spec, y)
    if tuple(out.shape) != want:
        what = ("one score per class" if spec.kind.classifies else "one value per target" if spec.kind.values
                else "one score per token of the vocabulary at every position")
        raise CodeError(f"{ref.key}: the model from {ref.where} gave an output of shape "
                        f"{tuple(out.shape)} for a batch of {tuple(x.shape)}; the data needs {want} ({what}: "
                        f"{spec.num_classes if not spec.kind.values else want[-1]})")
