"""Data and a model of your own for tui-trainer: two interleaving half-moons (as scikit-learn's
make_moons draws them, here with numpy alone, nothing to download) and a small MLP to separate them.

`tui-trainer train examples/moons/moons-mlp.toml --yes` trains one on the other.
"""

import numpy as np
from torch import nn


def moons(n: int = 2000, noise: float = 0.2, seed: int = 0) -> dict:
    """`n` points on two half-circles, shifted to interleave, with Gaussian noise: x is (n, 2), y the moon
    (0 or 1). tui-trainer holds out data.test_fraction of them for the test score, then data.val_fraction
    of the rest for validation (a dict may also give x_test, y_test, x_val and y_val of its own)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0.0, noise, (n, 2))
    return {"x": x.astype(np.float32), "y": y, "classes": ["upper", "lower"]}


def mlp(spec, hidden: int = 64, layers: int = 2, batchnorm: bool = False, dropout: float = 0.0) -> nn.Module:
    """`layers` hidden layers of `hidden` units ([BatchNorm,] ReLU, Dropout each), then one output per class."""
    parts: list[nn.Module] = [nn.Flatten()]
    width = int(np.prod(spec.input_shape))
    for _ in range(layers):
        parts.append(nn.Linear(width, hidden))
        if batchnorm:
            parts.append(nn.BatchNorm1d(hidden))
        parts += [nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    parts.append(nn.Linear(width, spec.num_classes))
    return nn.Sequential(*parts)
