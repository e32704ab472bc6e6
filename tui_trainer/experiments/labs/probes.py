"""Probes: what a lab measures by running a finished run's model again, on its test split.

A probe loads the run's best weights (``best.pt``) into the model its ``config.toml`` builds,
with the same data, and looks at something training does not record:

- ``eval_mode_test_accuracy`` / ``train_mode_test_accuracy``: test accuracy scored in eval
  mode, as it should be, and in train mode, the mistake of leaving dropout (and BatchNorm's
  batch statistics) on at inference;
- ``eval_mode_spread`` / ``train_mode_spread``: the same test batch through the model twice;
  the mean absolute difference of the two passes' class probabilities (0: the same answer);
- ``bn_variance_ratio`` / ``bn_variance_shift``: for the last BatchNorm of the model, its
  running variance (learnt in training) over the variance of its inputs in eval mode on the
  test set, averaged over the units; the shift is the mean ``|ln ratio|`` (0: no mismatch).

Train-mode passes run on a copy of the model, so a probe never changes a BatchNorm's
running statistics, and under a fixed seed, so it gives the same numbers every time.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Callable

#: name -> (what it is, better when "min" or "max").
PROBES: dict[str, tuple[str, str]] = {
    "eval_mode_test_accuracy": ("test accuracy scored in eval mode (dropout off)", "max"),
    "train_mode_test_accuracy": ("test accuracy scored in train mode (dropout left on)", "max"),
    "eval_mode_spread": ("difference between two passes of the same inputs in eval mode", "min"),
    "train_mode_spread": ("difference between two passes of the same inputs in train mode", "min"),
    "bn_variance_ratio": ("the last BatchNorm's running variance over its inputs' variance in eval mode", "min"),
    "bn_variance_shift": ("mean |ln| of the last BatchNorm's running over eval-mode variance (0: none)", "min"),
}
SEED = 0
SPREAD_SAMPLES = 512


def probe(run_dir: Path | str, names: list[str]) -> dict[str, float | None]:
    """The named probes of the run in ``run_dir`` (None where the model or data cannot tell:
    no ``best.pt``, no BatchNorm, or a task without classes)."""
    import torch

    from ...config.loader import load_config
    from ...engine import Trainer
    from ...engine.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    best = run_dir / "best.pt"
    if not names or not best.is_file():
        return {name: None for name in names}
    config = load_config(run_dir / "config.toml")
    trainer = Trainer(config, allow_emulated_bf16=True)
    trainer.prepare()
    model = trainer.model
    model.load_state_dict(load_checkpoint(best)["model"])
    model.eval()
    test, pipeline, device = trainer.data.test, trainer.data.pipeline(), trainer.setup.device
    classes = trainer.data.spec.kind.classifies
    if not classes or not hasattr(test, "x"):
        return {name: None for name in names}
    x, y = pipeline.prepare(test.x.to(device)), test.y.to(device)
    # one pass for both BatchNorm probes
    ratios = _bn_ratios(model, x) if any(name.startswith("bn_") for name in names) else None
    out: dict[str, float | None] = {}
    with torch.no_grad():
        for name in names:
            torch.manual_seed(SEED)
            out[name] = _PROBE_FUNCTIONS[name](model, x, y, ratios)
    return out


def _accuracy(model: Any, x: Any, y: Any, train: bool) -> float:
    net = copy.deepcopy(model).train(train)
    correct = sum(int((net(x[i:i + 1024]).argmax(1) == y[i:i + 1024]).sum()) for i in range(0, len(x), 1024))
    return correct / len(x)


def _spread(model: Any, x: Any, train: bool) -> float:
    import torch

    net, x = copy.deepcopy(model).train(train), x[:SPREAD_SAMPLES]
    return float((torch.softmax(net(x), 1) - torch.softmax(net(x), 1)).abs().sum(1).mean())


def _bn_ratios(model: Any, x: Any) -> list[float] | None:
    """Per unit of the model's last BatchNorm: its running variance over its inputs' variance in eval mode."""
    import torch
    from torch import nn

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return None
    bn, seen = norms[-1], []
    hook = bn.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        hook.remove()
    inputs = seen[0].transpose(0, 1).reshape(bn.num_features, -1)  # units × (samples, positions)
    eval_var = inputs.var(1)
    keep = eval_var > 1e-8  # a unit that never fires has no variance to compare
    return (bn.running_var[keep] / eval_var[keep]).tolist()


_PROBE_FUNCTIONS: dict[str, Callable[[Any, Any, Any, list[float] | None], float | None]] = {
    "eval_mode_test_accuracy": lambda m, x, y, r: _accuracy(m, x, y, False),
    "train_mode_test_accuracy": lambda m, x, y, r: _accuracy(m, x, y, True),
    "eval_mode_spread": lambda m, x, y, r: _spread(m, x, False),
    "train_mode_spread": lambda m, x, y, r: _spread(m, x, True),
    "bn_variance_ratio": lambda m, x, y, r: sum(r) / len(r) if r else None,
    "bn_variance_shift": lambda m, x, y, r: sum(abs(math.log(v)) for v in r) / len(r) if r else None,
}
