"""Text from a character language model: a prompt, then one character at a time, drawn with a
temperature and from the top k, with a generator of its own (the same seed gives the same text,
and training's random streams are not touched)."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError


class GenerationError(UserError):
    """A generation request that cannot be met; the message says why."""


@torch.no_grad()
def generate_text(model: nn.Module, vocabulary: tuple[str, ...], prompt: str = "", length: int = 300,
                  temperature: float = 0.8, top_k: int = 0, seed: int = 0) -> str:
    """``prompt`` followed by ``length`` characters sampled from ``model`` (a language model with
    ``step``). Characters of the prompt outside the vocabulary are read as the unknown symbol
    (index 0), which is never written: it stands for characters the model has not seen."""
    if length < 0:
        raise GenerationError(f"--length must be at least 0 (got {length})")
    if not temperature > 0:
        raise GenerationError(f"--temperature must be above 0 (got {temperature}); for the likeliest character "
                              "every time, use --top-k 1")
    if top_k < 0:
        raise GenerationError(f"--top-k must be 0 (all characters) or more (got {top_k})")
    device = next(model.parameters()).device
    index = {ch: i for i, ch in enumerate(vocabulary)}
    was_training = model.training
    model.eval()
    generator = torch.Generator(device="cpu").manual_seed(seed)
    start = [index.get(ch, 0) for ch in prompt] or [int(torch.randint(1, len(vocabulary), (1,), generator=generator))]
    logits, states = model.step(torch.tensor([start], device=device))
    out = list(prompt) if prompt else [vocabulary[start[0]]]
    for _ in range(length):
        last = logits[0, -1].float().cpu() / temperature
        last[0] = float("-inf")  # the unknown symbol is not a character to write
        if top_k and top_k < last.numel():
            cutoff = torch.topk(last, top_k).values[-1]
            last = last.masked_fill(last < cutoff, float("-inf"))
        nxt = int(torch.multinomial(torch.softmax(last, 0), 1, generator=generator))
        out.append(vocabulary[nxt])
        logits, states = model.step(torch.tensor([[nxt]], device=device), states)
    model.train(was_training)
    return "".join(out)
