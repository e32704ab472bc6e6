"""A small VGG-style CNN, written as you would write your own model for tui-trainer.

`tui-trainer train examples/vgg/digits-vgg.toml --yes` trains it on the 8x8 digits. The preset
names this function (model.python.factory = "model.py:small_vgg"), and tui-trainer calls it with
the data's spec, the preset's [model.python.args], and the two switches that act inside a model:
`batchnorm` (true or false) and `dropout` (a probability, 0.0 when the switch is off).
"""

from torch import nn


def block(c_in: int, c_out: int, batchnorm: bool) -> list[nn.Module]:
    """Two 3x3 convolutions, each followed by [BatchNorm and] ReLU, then a 2x2 max-pool."""
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers.append(nn.Conv2d(c, c_out, 3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(2))
    return layers


def small_vgg(spec, widths=(16, 32), hidden: int = 64, batchnorm: bool = True, dropout: float = 0.0) -> nn.Module:
    """VGG's pattern at a small scale: blocks of 3x3 convolutions that halve the image and widen,
    then a hidden fully connected layer with dropout, and one output per class."""
    channels, height, width = spec.input_shape
    features: list[nn.Module] = []
    for c_out in widths:
        features += block(channels, c_out, batchnorm)
        channels, height, width = c_out, height // 2, width // 2
    return nn.Sequential(
        *features,
        nn.Flatten(),
        nn.Linear(channels * height * width, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, spec.num_classes),
    )
