"""Models built from the data's spec and the preset's trick switches.

A model family is a module here whose ``nn.Module`` is built as ``Family(spec, config)``
(reading its settings from ``config.model.<kind>`` and its switches from ``config.tricks``),
plus one line in :data:`MODELS`; its settings table is declared in ``config/schema.py``
(``ModelConfig``), which the preset loader reads without importing torch.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from torch import nn

from ..config.schema import Config
from ..data import DataSpec
from .cnn import CNN
from .lstm import LSTMClassifier, LSTMLanguageModel, lstm
from .python import own_model
from .resnet import ResNet
from .transformer import TransformerLanguageModel

MODELS: dict[str, Callable[[DataSpec, Config], nn.Module]] = {
    "cnn": CNN,
    "lstm": lstm,
    "resnet": ResNet,
    "transformer": TransformerLanguageModel,
    "python": own_model,  # the user's own: model.python.factory
}


def build_model(spec: DataSpec, config: Config) -> nn.Module:
    """The model of ``config``: a built-in family, the user's factory, or an installed plugin's family."""
    return MODELS.get(config.model.kind, own_model)(spec, config)


def model_notes(config: Config) -> list[str]:
    """Settings of the model family that do not act as a reader might expect, in words."""
    from .lstm import notes

    return notes(config) if config.model.kind == "lstm" else []


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: nn.Module) -> list[str]:
    """One line per leaf layer: ``name  Layer(args)  params``."""
    lines = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        params = sum(p.numel() for p in module.parameters(recurse=False))
        lines.append(f"{name:<14} {module!r}  {params:,}" if params else f"{name:<14} {module!r}")
    return lines


def layer_counts(model: nn.Module) -> str:
    """``Conv1d×3 BatchNorm1d×3 ReLU×4 ...``: the leaf layers by type, in order of first use."""
    layers = Counter(type(m).__name__ for m in model.modules() if not list(m.children()))
    return " ".join(f"{name}×{n}" for name, n in layers.items())


__all__ = ["CNN", "LSTMClassifier", "LSTMLanguageModel", "MODELS", "ResNet", "TransformerLanguageModel", "build_model",
           "count_parameters", "model_notes", "describe", "layer_counts"]
