"""A small CNN: conv blocks (conv, [BatchNorm], ReLU, [pool]), [a hidden FC layer, [BatchNorm], ReLU], [Dropout],
[BatchNorm], a classifier.

Conv1d or Conv2d is chosen from the data's shape: (C, L) gives 1-D, (C, H, W) gives 2-D.
The first conv takes the data's channels and the first linear layer its flattened size,
so a preset fits any image size its pooling leaves at least one pixel of.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.schema import Config
from ..data import DataSpec
from ..errors import UserError


class ModelShapeError(UserError):
    """The model cannot take the data's shape; the message says why and what would fit."""

_LAYERS = {
    1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d),
    2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d),
}


class CNN(nn.Module):
    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        if spec.kind.per_position:
            raise ModelShapeError(f'model.kind = "cnn" classifies; {spec.name} is language '
                                  'modelling: use model.kind = "lstm"')
        spatial = len(spec.input_shape) - 1
        if spatial not in _LAYERS:
            raise ModelShapeError("model.kind = \"cnn\" takes (C, L) sequences or (C, H, W) "
                                  f"images; {spec.name} has samples of shape {spec.shape_text}")
        conv, norm, pool = _LAYERS[spatial]
        m, tricks = config.model.cnn, config.tricks
        if m.input_shape and tuple(m.input_shape) != tuple(spec.input_shape):
            built = "×".join(map(str, m.input_shape))
            raise ModelShapeError(
                f"model.cnn.input_shape: this model is built for {built} samples (its first conv "
                f"takes {m.input_shape[0]} channels and its first linear layer that size pooled); {spec.name} has "
                f"{spec.shape_text}: use a preset made for {spec.name}, or set model.cnn.input_shape = [] to "
                "build the same layers for the data")
        use_bn = tricks.batchnorm.enabled
        pools = sum(1 for i in range(len(m.channels)) if m.pool_every and (i + 1) % m.pool_every == 0)
        size = min(spec.input_shape[1:])
        if size >> pools < 1:
            fit = max(0, size.bit_length() - 1)
            raise ModelShapeError(
                f"model.cnn: {pools} max-pools by 2 halve {spec.name}'s {spec.shape_text} samples "
                f"to nothing; at most {fit} fit: use fewer conv blocks (model.cnn.channels), pool less often "
                "(model.cnn.pool_every) or larger images (data.image_size)")
        blocks: list[nn.Module] = []
        c_in = spec.input_shape[0]
        for i, c_out in enumerate(m.channels):
            # BatchNorm has its own shift, so the conv's bias is redundant unless conv_bias keeps it (the lesson does).
            blocks.append(conv(c_in, c_out, m.kernel_size, padding=m.kernel_size // 2, bias=m.conv_bias or not use_bn))
            if use_bn:
                blocks.append(norm(c_out, momentum=tricks.batchnorm.momentum))
            blocks.append(nn.ReLU(inplace=True))
            if m.pool_every and (i + 1) % m.pool_every == 0:
                blocks.append(pool(2))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *spec.input_shape)).numel()
        if m.head_norm != "none" and not m.fc_hidden:
            raise ModelShapeError(f"model.cnn.head_norm = {m.head_norm!r} normalises the hidden fully connected "
                                  "layer, and this model has none: set model.cnn.fc_hidden "
                                  "above 0, or head_norm = \"none\"")
        head: list[nn.Module] = [nn.Flatten()]
        if m.fc_hidden:
            # head_norm: BatchNorm before the dropout, or after it (where it learns statistics that eval mode never
            # sees)
            head += [nn.Linear(flat, m.fc_hidden, bias=m.head_norm != "before_dropout"),
                     *([nn.BatchNorm1d(m.fc_hidden,
                                       momentum=tricks.batchnorm.momentum)] if m.head_norm == "before_dropout" else []),
                     nn.ReLU(inplace=True)]
        if tricks.dropout.enabled:
            head.append(nn.Dropout(tricks.dropout.p))
        if m.head_norm == "after_dropout":
            head.append(nn.BatchNorm1d(m.fc_hidden, momentum=tricks.batchnorm.momentum))
        head.append(nn.Linear(m.fc_hidden or flat, spec.num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
