"""The Textual app. Importing this package does not import torch."""

from .app import TrainerApp, run_app

__all__ = ["TrainerApp", "run_app"]
