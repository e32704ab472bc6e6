"""What the settings describe: the dataset and its splits, the model and its size, the device,
the precision and the threads. The worker process works it out (it has torch; see
:mod:`tui_trainer.worker.describe`) and the app shows its answer here."""

from __future__ import annotations

from textual.widgets import Static


class InfoPanel(Static):
    pass
