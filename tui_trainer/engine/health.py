"""Runs that fail quietly: a run that ends where a model that learnt nothing would end is said
to be so, as a warning beside its status (which stays what it was).

- Classification: the best validation loss stayed near the entropy of the training labels
  (ln K for K even classes: what predicting the label frequencies scores), or the best
  validation accuracy is within three standard errors of the most common class's share.
- Language modelling: the best validation bits/char is no better than the unigram baseline
  (the training text's character frequencies).

Adam at lr 10 on ``cnn-mnist1d`` is the example: it completed with test accuracy 0.10 and its
loss at ln 10 = 2.30.
"""

from __future__ import annotations

import math
from typing import Any

import torch

HINT = "try a lower train.lr, or `tui-trainer lr-find` to choose one"
PINNED = 0.9  # a best validation loss above this share of the labels' entropy has learnt next to nothing


def label_stats(y: torch.Tensor, classes: int) -> tuple[float, float]:
    """The entropy (nats) of the labels' frequencies, and the most common class's share."""
    counts = torch.bincount(y.flatten().cpu(), minlength=classes).double()
    p = counts / counts.sum()
    nonzero = p[p > 0]
    return float(-(nonzero * nonzero.log()).sum()), float(p.max())


def not_learning(task: Any, summary: dict[str, Any], data) -> list[str]:
    """Warnings for a run that learnt nothing (empty for one that did, or that diverged or
    stopped), as its task (:class:`~.task.Task`) judges it."""
    if summary.get("status") not in ("completed", "early_stopped"):
        return []
    return task.not_learning(summary, data)


def classifier_not_learning(summary: dict[str, Any], data) -> list[str]:
    """Chance accuracy, or a loss at the entropy of the labels."""
    loss = summary.get("best_val_loss")
    if loss is None:
        return []
    entropy, _ = label_stats(data.train.y, data.spec.num_classes)
    _, chance = label_stats(data.val.y, data.spec.num_classes)
    acc, n = summary.get("best_val_accuracy"), len(data.val)
    at_chance = acc is not None and acc <= chance + 3 * math.sqrt(chance * (1 - chance) / max(1, n))
    pinned = loss >= PINNED * entropy
    if not (at_chance or pinned):
        return []
    said = []
    if at_chance:
        said.append(f"its best validation accuracy {acc:.3f} is chance level (the most common class "
                    f"is {chance:.3f} of the labels)")
    if pinned:
        said.append(f"its best validation loss {loss:.3f} never got below 90 % of the entropy "
                    f"of the labels ({entropy:.3f}, what their frequencies alone score; ln {data.spec.num_classes} = "
                    f"{math.log(data.spec.num_classes):.3f} for even classes)")
    return [f"the model did not learn: {' and '.join(said)}; {HINT}"]


def language_model_not_learning(summary: dict[str, Any]) -> list[str]:
    """Bits per character no better than the unigram baseline."""
    bits = (summary.get("best_val_metrics") or {}).get("val_bits_per_char")
    unigram = ((summary.get("baselines") or {}).get("unigram") or {}).get("val_bits_per_char")
    if bits is not None and unigram is not None and bits >= unigram:
        return [f"the model did not learn: its best validation {bits:.3f} bits/char is no "
                f"better than the unigram baseline ({unigram:.3f}: the character frequencies alone); {HINT}"]
    return []
