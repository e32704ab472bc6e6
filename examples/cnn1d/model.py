"""The 1-D CNN of the cnn-mnist1d preset, written as a user would write it: three blocks of
convolution, [BatchNorm], ReLU and max-pool, a hidden layer, dropout and a classifier.

It builds the same layers in the same order as tui-trainer's own `model.kind = "cnn"` with the
preset's settings, so the two train the same weights from the same seed; `bench/throughput.py --own`
times one against the other (a model of your own trains at the speed of a built-in one).

    tui-trainer train examples/cnn1d/mnist1d-cnn.toml --yes
"""

from torch import nn


def cnn(spec, channels=(32, 64, 64), kernel_size: int = 5, hidden: int = 128, batchnorm: bool = True,
        dropout: float = 0.2) -> nn.Module:
    c_in, length = spec.input_shape
    layers: list[nn.Module] = []
    for c_out in channels:
        layers.append(nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm1d(c_out))
        layers += [nn.ReLU(inplace=True), nn.MaxPool1d(2)]
        c_in, length = c_out, length // 2
    features = nn.Sequential(*layers)
    head = [nn.Flatten(), nn.Linear(c_in * length, hidden), nn.ReLU(inplace=True)]
    if dropout:
        head.append(nn.Dropout(dropout))
    head.append(nn.Linear(hidden, spec.num_classes))
    return nn.Sequential(features, nn.Sequential(*head))
