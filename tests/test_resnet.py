"""The CIFAR ResNets of He et al. 2016: their size, the plain net that differs only in the
shortcut, zero-init's identity blocks, option-A shortcuts in 1-D and 2-D, and the depth rule."""

from __future__ import annotations

import pytest
import torch
from helpers import make_config

from tui_trainer.config import ConfigError
from tui_trainer.data import DataSpec
from tui_trainer.models import build_model, count_parameters
from tui_trainer.models.resnet import BasicBlock, ShortcutA

CIFAR = DataSpec("cifar-shaped", (3, 32, 32), 10)
MNIST1D = DataSpec("mnist1d-shaped", (1, 40), 10)


def resnet(spec: DataSpec, **settings):
    overrides = {"model.kind": "resnet", "tricks.dropout.enabled": False}
    overrides.update({f"model.resnet.{k}": v for k, v in settings.items()})
    return build_model(spec, make_config(overrides))


def test_resnet_20_and_110_have_the_paper_s_sizes():
    assert count_parameters(resnet(CIFAR, depth=20)) == 269_722  # He et al.: 0.27 M
    assert count_parameters(resnet(CIFAR, depth=110)) == 1_727_962  # He et al.: 1.7 M
    assert resnet(CIFAR, depth=20)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert resnet(MNIST1D, depth=20)(torch.zeros(2, 1, 40)).shape == (2, 10)  # the same code in 1-D


def test_the_plain_net_differs_from_the_residual_one_only_in_the_shortcut():
    torch.manual_seed(0)
    residual, plain = resnet(CIFAR, depth=20), resnet(CIFAR, depth=20, residual=False)
    assert {k: v.shape for k, v in residual.state_dict().items()} == {k: v.shape for k, v in plain.state_dict().items()}
    plain.load_state_dict(residual.state_dict())
    residual.eval()
    plain.eval()
    x = residual.stem(torch.randn(2, 3, 32, 32))
    for block_r, block_p in zip(residual.blocks, plain.blocks):
        body = block_r.bn2(block_r.conv2(torch.relu(block_r.bn1(block_r.conv1(x)))))
        shortcut = x if block_r.shortcut is None else block_r.shortcut(x)
        assert torch.allclose(block_r(x), torch.relu(body + shortcut))
        assert torch.allclose(block_p(x), torch.relu(body))
        x = block_r(x)


def test_zero_init_starts_every_block_as_the_identity():
    model = resnet(CIFAR, depth=20, zero_init_residual=True)
    assert all(torch.all(block.bn2.weight == 0) for block in model.blocks)
    assert all(torch.all(block.bn1.weight == 1) for block in model.blocks)
    block = model.blocks[1]  # 16 → 16 channels, stride 1: the identity shortcut
    x = torch.relu(torch.randn(4, 16, 8, 8))
    assert torch.equal(block(x), x)  # relu(0 + x) for x ≥ 0
    ordinary = resnet(CIFAR, depth=20)
    assert all(torch.all(block.bn2.weight == 1) for block in ordinary.blocks)


@pytest.mark.parametrize("shape", [(2, 16, 40), (2, 16, 32, 32)], ids=["1-D", "2-D"])
def test_option_a_shortcuts_subsample_and_zero_pad_the_channels(shape):
    x = torch.randn(*shape)
    out = ShortcutA(16, 32, 2)(x)
    assert out.shape == (shape[0], 32, *(s // 2 for s in shape[2:]))
    assert torch.equal(out[:, 8:24], x[(slice(None), slice(None), *[slice(None, None, 2)] * (len(shape) - 2))])
    assert torch.all(out[:, :8] == 0) and torch.all(out[:, 24:] == 0)
    assert sum(p.numel() for p in ShortcutA(16, 32, 2).parameters()) == 0  # option A has no parameters


def test_without_batchnorm_the_convs_get_their_biases_back():
    model = build_model(CIFAR, make_config({"model.kind": "resnet", "tricks.batchnorm.enabled": False}))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    block = next(b for b in model.blocks if isinstance(b, BasicBlock))
    assert block.conv1.bias is not None


def test_a_depth_that_is_not_6n_plus_2_is_refused_naming_the_ones_that_fit():
    fits = r"model.resnet.depth: 21 is not 2 × blocks × 3 stages \+ 2: with 3 stages use 8, 14, 20"
    with pytest.raises(ConfigError, match=fits):
        make_config({"model.kind": "resnet", "model.resnet.depth": 21})
