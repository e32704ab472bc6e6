"""Models built from the data's spec and the preset's trick switches."""

from __future__ import annotations

from torch import nn

from ..config.schema import Config
from ..data import DataSpec
from .cnn import CNN
from .lstm import LSTMClassifier


def build_model(spec: DataSpec, config: Config) -> nn.Module:
    if config.model.kind == "cnn":
        return CNN(spec, config)
    if config.model.kind == "lstm":
        return LSTMClassifier(spec, config)
    raise ValueError(f"unknown model kind {config.model.kind!r}")


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


__all__ = ["CNN", "LSTMClassifier", "build_model", "count_parameters", "describe"]
