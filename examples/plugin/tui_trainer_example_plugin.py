"""An example plugin for tui-trainer: a model family (``model.kind = "tiny-mlp"``) and a dataset
(``data.dataset = "spirals"``), declared as entry points in this folder's pyproject.toml.

Their settings are their keyword parameters: `[model.tiny-mlp]` takes `hidden` and `layers`,
`[data.spirals]` takes `n`, `turns` and `noise`, each checked (type, bounds) as tui-trainer's own
settings are, in a preset, with `--set` and by `presets show`.
"""

from typing import Annotated

import numpy as np

from tui_trainer.usercode.plugins import Setting


def tiny_mlp(spec,
             hidden: Annotated[int, Setting("units of each hidden layer", min=1)] = 32,
             layers: Annotated[int, Setting("hidden layers", min=1, max=8)] = 2,
             batchnorm: bool = False, dropout: float = 0.0):
    """An MLP: `layers` hidden layers ([BatchNorm,] ReLU, Dropout each), then one output per class."""
    from torch import nn  # torch only when a model is built: listing the plugin stays quick

    parts = [nn.Flatten()]
    width = int(np.prod(spec.input_shape))
    for _ in range(layers):
        parts.append(nn.Linear(width, hidden))
        if batchnorm:
            parts.append(nn.BatchNorm1d(hidden))
        parts += [nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    parts.append(nn.Linear(width, spec.num_classes))
    return nn.Sequential(*parts)


def spirals(n: Annotated[int, Setting("points in all", min=30)] = 1500,
            turns: Annotated[float, Setting("turns of each arm", min=0.25, max=5.0)] = 1.5,
            noise: Annotated[float, Setting("standard deviation of the noise", min=0.0)] = 0.05,
            seed: int = 0):
    """Three interleaved spiral arms, one class each, drawn with numpy alone (nothing to download)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    r = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * (turns * r + y / 3)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + rng.normal(0.0, noise, (n, 2))
    return {"x": x.astype(np.float32), "y": y, "classes": ["arm 0", "arm 1", "arm 2"]}
