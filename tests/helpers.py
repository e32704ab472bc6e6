"""What the tests share besides fixtures: the repository root and a Config maker."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_config(overrides: dict | None = None, **top):
    """A validated Config from dotted overrides, e.g. make_config({"train.epochs": 2}).
    Tests train on one thread: two threads collapse when anything else is busy."""
    from tui_trainer.config import config_from_dict

    raw = {"name": "test", "train": {"threads": 1}, **top}
    return config_from_dict(raw, "<test>", overrides or {})
