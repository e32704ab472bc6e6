"""A small CNN: conv blocks (conv, [BatchNorm], ReLU, pool), a hidden FC layer, [Dropout], a classifier.

Conv1d or Conv2d is chosen from the data's shape: (C, L) gives 1-D, (C, H, W) gives 2-D.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.schema import Config
from ..data import DataSpec

_LAYERS = {
    1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d),
    2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d),
}


class CNN(nn.Module):
    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        spatial = len(spec.input_shape) - 1
        if spatial not in _LAYERS:
            raise ValueError(f"the CNN takes (C, L) or (C, H, W) inputs, not {spec.input_shape}")
        conv, norm, pool = _LAYERS[spatial]
        m, tricks = config.model.cnn, config.tricks
        use_bn = tricks.batchnorm.enabled
        blocks: list[nn.Module] = []
        c_in = spec.input_shape[0]
        size = min(spec.input_shape[1:])
        for i, c_out in enumerate(m.channels):
            # BatchNorm has its own shift, so the conv's bias would be redundant.
            blocks.append(conv(c_in, c_out, m.kernel_size, padding=m.kernel_size // 2, bias=not use_bn))
            if use_bn:
                blocks.append(norm(c_out, momentum=tricks.batchnorm.momentum))
            blocks.append(nn.ReLU(inplace=True))
            if m.pool_every and (i + 1) % m.pool_every == 0 and size >= 2:
                blocks.append(pool(2))
                size //= 2
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *spec.input_shape)).numel()
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(flat, m.fc_hidden), nn.ReLU(inplace=True)]
        if tricks.dropout.enabled:
            head.append(nn.Dropout(tricks.dropout.p))
        head.append(nn.Linear(m.fc_hidden, spec.num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
