"""What happens to a batch on the device before the model sees it: augmentation and normalisation.

Images travel as uint8 (a quarter of float32's bytes) and become floats per batch, normalised
with the mean and standard deviation of each channel over the training split only.

Augmentation (``tricks.augment``) is the usual random crop with padding and horizontal flip,
done for the whole batch at once with one gather on the device: no per-sample Python.
The offsets and flips of a whole epoch are drawn at its start from the shuffling generator,
so a run resumed mid-epoch replays them exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def channel_stats(x, rows=None, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of (N, C, ...) samples (a tensor or array, or its ``rows``),
    in float64 a chunk at a time: no float copy of the whole set."""
    n = len(rows) if rows is not None else len(x)
    total = sq = None
    count = 0
    for start in range(0, n, chunk):
        part = x[rows[start : start + chunk]] if rows is not None else x[start : start + chunk]
        part = torch.as_tensor(part).to(torch.float64)
        dims = [0, *range(2, part.dim())]
        s, q = part.sum(dims), (part * part).sum(dims)
        total, sq = (s, q) if total is None else (total + s, sq + q)
        count += part.numel() // part.shape[1]
    mean = total / count
    std = (sq / count - mean * mean).clamp_min(0).sqrt()
    return mean.float(), std.clamp_min(1e-3).float()


class InputPipeline:
    """``prepare(x)`` for evaluation; ``draw(n)`` at an epoch's start, then ``prepare(x, params, lo)`` for its
    batches."""

    def __init__(self, mean: torch.Tensor | None, std: torch.Tensor | None, crop_padding: int = 0, flip: bool = False):
        self.mean = mean
        self.scale = None if std is None else 1.0 / std
        self.padding = crop_padding
        self.flip = flip

    @property
    def augments(self) -> bool:
        return self.padding > 0 or self.flip

    def to(self, device: torch.device) -> "InputPipeline":
        if self.mean is not None:
            shape = (1, -1, 1, 1) if self.mean.dim() == 1 else self.mean.shape
            self.mean = self.mean.reshape(shape).to(device)
            self.scale = self.scale.reshape(shape).to(device)
        return self

    def draw(self, n: int, generator: torch.Generator, device: torch.device) -> tuple[torch.Tensor, ...] | None:
        """The epoch's crop offsets and flips, one per sample in shuffled order."""
        if not self.augments:
            return None
        offsets = torch.randint(0, 2 * self.padding + 1, (2, n), device=device, generator=generator)
        flips = torch.randint(0, 2, (n,), device=device, generator=generator).bool() if self.flip else None
        return offsets[0], offsets[1], flips

    def prepare(self, x: torch.Tensor, params: tuple[torch.Tensor, ...] | None = None, lo: int = 0) -> torch.Tensor:
        if params is not None:
            x = self._augment(x, params, lo)
        if self.mean is None:
            return x
        # one new tensor, normalised in place: copy=True, since a float32 batch may be a view of the data
        return x.to(torch.float32, copy=True).sub_(self.mean).mul_(self.scale)

    def _augment(self, x: torch.Tensor, params: tuple[torch.Tensor, ...], lo: int) -> torch.Tensor:
        n, _, h, w = x.shape
        dy, dx, flips = (p[lo : lo + n] if p is not None else None for p in params)
        p = self.padding
        padded = F.pad(x, (p, p, p, p)) if p else x
        rows = dy[:, None] + torch.arange(h, device=x.device)  # (n, h)
        cols = dx[:, None] + torch.arange(w, device=x.device)  # (n, w)
        if flips is not None:
            cols = torch.where(flips[:, None], cols.flip(1), cols)
        rows = rows[:, None, :, None].expand(n, x.shape[1], h, padded.shape[3])
        picked = padded.gather(2, rows)  # (n, c, h, w + 2p)
        return picked.gather(3, cols[:, None, None, :].expand(n, x.shape[1], h, w))
