"""Live text from a language model while it trains: after an epoch (at most every
``sample.min_seconds``, and always after the last) and when asked (the app's ``g``), each a
:class:`~.events.SampleText` event drawn from the weights of that moment, with a seed from the
step, so the same run draws the same samples. Process 0 alone samples."""

from __future__ import annotations

import math
import time
from typing import Callable

from torch import nn

from ..config import Config
from .events import Event, SampleText
from .generate import generate_text


class LiveSamples:
    def __init__(self, config: Config, model: nn.Module, vocabulary: tuple[str, ...], emit: Callable[[Event], None],
                 enabled: bool):
        """``enabled``: a language model that can generate, on process 0."""
        self.config, self.model, self.vocabulary, self.emit = config, model, vocabulary, emit
        self.enabled = enabled
        self.sampled_at = -math.inf

    def due_after(self, epochs_run: int) -> bool:
        """Whether the epoch just ended gets a sample."""
        s = self.config.sample
        return self.enabled and s.every_epoch and (time.perf_counter() - self.sampled_at >= s.min_seconds
                                                   or epochs_run == self.config.train.epochs)

    def take(self, epoch: int, step: int, trigger: str) -> float:
        """Emit text from the current weights; the seconds it took (0 when not enabled)."""
        if not self.enabled:
            return 0.0
        s, start = self.config.sample, time.perf_counter()
        seed = self.config.train.seed * 1_000_003 + step
        text = generate_text(self.model, self.vocabulary, s.prompt, s.length, s.temperature, s.top_k, seed)
        self.sampled_at = time.perf_counter()
        seconds = self.sampled_at - start
        self.emit(SampleText(epoch, step, text, s.prompt, s.temperature, s.top_k, seed, seconds, trigger))
        return seconds
