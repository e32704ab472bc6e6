"""A decoder-only character Transformer: token and learned position embeddings, blocks of
causal self-attention and a feed-forward layer, and a linear head at every position.

- Attention is ``torch.nn.functional.scaled_dot_product_attention`` with ``is_causal=True``:
  position t attends to positions up to t and never ahead.
- ``model.transformer.norm``: ``pre`` puts LayerNorm before each sub-layer, with a final
  LayerNorm before the head (GPT-2; the residual path stays an identity, which trains stably);
  ``post`` puts it after each residual sum, as the 2017 paper did (its gradients near the
  input are small at first, which is why it is trained with a warm-up).
- dropout: on the embeddings, on the attention weights and on each sub-layer's output before
  it joins the residual path.
- batchnorm is refused by the preset loader: LayerNorm is part of the architecture.

Weights start as GPT-2's: normal with std 0.02, the residual projections scaled down by
sqrt(2 × layers), biases at zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import Config
from ..data import DataSpec


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int, ff: int, p: float, pre_norm: bool):
        super().__init__()
        self.heads, self.p, self.pre_norm = heads, p, pre_norm
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Linear(ff, d_model))
        self.drop = nn.Dropout(p) if p > 0 else nn.Identity()

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        # 3 × (b, heads, t, d/heads)
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0.0, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(b, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.drop(self.attention(self.norm1(x)))
            return x + self.drop(self.ff(self.norm2(x)))
        x = self.norm1(x + self.drop(self.attention(x)))
        return self.norm2(x + self.drop(self.ff(x)))


class TransformerLanguageModel(nn.Module):
    def __init__(self, spec: DataSpec, config: Config):
        super().__init__()
        if not spec.kind.per_position:
            from .cnn import ModelShapeError

            raise ModelShapeError("model.kind = \"transformer\" is a character language "
                                  f"model for text; {spec.name} is a {spec.kind.words} task: use "
                                  "model.kind = \"cnn\" or \"lstm\"")
        m, tricks = config.model.transformer, config.tricks
        p = tricks.dropout.p if tricks.dropout.enabled else 0.0
        self.context = m.context or spec.input_shape[-1]
        self.pre_norm = m.norm == "pre"
        self.tokens = nn.Embedding(spec.num_classes, m.d_model)
        self.positions = nn.Embedding(self.context, m.d_model)
        self.drop = nn.Dropout(p) if p > 0 else nn.Identity()
        self.blocks = nn.ModuleList(Block(m.d_model, m.num_heads, m.ff_mult * m.d_model, p,
                                          self.pre_norm) for _ in range(m.num_layers))
        self.norm = nn.LayerNorm(m.d_model) if self.pre_norm else nn.Identity()
        self.head = nn.Linear(m.d_model, spec.num_classes)
        self.apply(_init)
        for block in self.blocks:
            for proj in (block.proj, block.ff[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * m.num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.context:
            raise ValueError(f"{t} positions, but the model has learnt {self.context}")
        h = self.drop(self.tokens(x) + self.positions(torch.arange(t, device=x.device)))
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))  # (batch, steps, vocabulary)

    def step(self, x: torch.Tensor, states: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits for ``x`` (batch, steps) after the characters in ``states`` (the ones seen so
        far), and the characters to keep: generation sees at most the last ``context`` of them."""
        seen = x if states is None else torch.cat((states, x), dim=1)
        seen = seen[:, -self.context:]
        return self.forward(seen)[:, -x.shape[1]:], seen


def _init(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
