"""The CIFAR ResNets of He et al. 2016 (§4.2), in 1-D (sequences) or 2-D (images) from the same code.

A 3×3 conv of ``widths[0]`` channels, then three stages of ``n`` basic blocks each (depth
``6n + 2``: 20, 32, 44, 56, 110), of ``widths`` channels (16, 32, 64), the second and third
starting with stride 2; then global average pooling and a linear classifier.

A basic block is conv, BatchNorm, ReLU, conv, BatchNorm, the shortcut added, ReLU. The shortcut
is the paper's option A: the identity, subsampled by 2 and zero-padded in channels where the
shape changes, so it has no parameters.

- ``residual = false``: the paper's plain net, the same layers without the shortcuts;
- the batchnorm trick off: no BatchNorm (the convs get their biases back);
- ``zero_init_residual``: the last BatchNorm of each block starts at γ = 0, so each block starts
  as the identity (Goyal et al. 2017);
- the dropout trick: dropout before the classifier (the paper has none).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import Config
from ..data import DataSpec

_LAYERS = {1: (nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d), 2: (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d)}


class ShortcutA(nn.Module):
    """Option A: every second position (stride 2) and the new channels zero-padded, half on each side."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride, self.pad = stride, c_out - c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = x.dim() - 2
        x = x[(..., *([slice(None, None, self.stride)] * spatial))]
        before = self.pad // 2
        return F.pad(x, (0, 0) * spatial + (before, self.pad - before))


class BasicBlock(nn.Module):
    def __init__(self, spatial: int, c_in: int, c_out: int, stride: int, residual: bool, batchnorm: float | None,
                 zero_init: bool):
        """``batchnorm``: BatchNorm's momentum, or None without it."""
        super().__init__()
        conv, norm, _ = _LAYERS[spatial]
        bias = batchnorm is None
        self.conv1 = conv(c_in, c_out, 3, stride=stride, padding=1, bias=bias)
        self.bn1 = norm(c_out, momentum=batchnorm) if batchnorm is not None else nn.Identity()
        self.conv2 = conv(c_out, c_out, 3, padding=1, bias=bias)
        self.bn2 = norm(c_out, momentum=batchnorm) if batchnorm is not None else nn.Identity()
        if zero_init and batchnorm is not None:
            nn.init.zeros_(self.bn2.weight)
        self.shortcut = ShortcutA(c_in, c_out, stride) if residual and (stride != 1 or c_in != c_out) else None
        self.residual = residual
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()  # modules, not F.relu: the doctor's probe hooks them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu2(out)


class ResNet(nn.Module):
    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        from .cnn import ModelShapeError

        spatial = len(spec.input_shape) - 1
        if not spec.kind.classifies or spatial not in _LAYERS:
            raise ModelShapeError(f'model.kind = "resnet" classifies (C, L) sequences or (C, H, W) images; {spec.name} '
                                  f"has samples of shape {spec.shape_text} for {spec.kind.words}: use another "
                                  "model.kind")
        m, tricks = config.model.resnet, config.tricks
        conv, norm, pool = _LAYERS[spatial]
        momentum = tricks.batchnorm.momentum if tricks.batchnorm.enabled else None
        n = (m.depth - 2) // (2 * len(m.widths))  # blocks per stage
        self.stem = nn.Sequential(conv(spec.input_shape[0], m.widths[0], 3, padding=1, bias=momentum is None),
                                  norm(m.widths[0], momentum=momentum) if momentum is not None else nn.Identity(),
                                  nn.ReLU(inplace=True))
        blocks, c_in = [], m.widths[0]
        for stage, width in enumerate(m.widths):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(spatial, c_in, width, stride, m.residual, momentum, m.zero_init_residual))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = pool(1)
        self.dropout = nn.Dropout(tricks.dropout.p) if tricks.dropout.enabled else nn.Identity()
        self.classifier = nn.Linear(c_in, spec.num_classes)
        for module in self.modules():  # He et al.'s initialisation of the convs
            if isinstance(module, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.blocks(self.stem(x))).flatten(1)
        return self.classifier(self.dropout(x))
