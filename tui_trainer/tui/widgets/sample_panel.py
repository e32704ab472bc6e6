"""What the task has to show beside the curves: the latest text a language model wrote while
it trains (after each epoch, or when ``g`` is pressed), or a forecaster's test-period forecast
when its run ends. Hidden until there is something, so other tasks never see it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...engine.events import SampleText


class SamplePanel(Static):
    DEFAULT_CSS = """
    SamplePanel {
        display: none;
        height: auto;
        max-height: 13;
        border-top: solid $primary-background;
        padding: 0 0;
    }
    SamplePanel.-shown {
        display: block;
    }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.last: SampleText | None = None

    def show_sample(self, event: SampleText) -> None:
        self.last = event
        when = f"epoch {event.epoch}" if event.trigger == "epoch" else f"step {event.step} (g)"
        how = f"temperature {event.temperature:g}" + (f", top-k {event.top_k}" if event.top_k else "")
        text = Text(f"sample after {when}, {how}, {event.seconds:.2f} s\n", style="dim")
        prompt = event.text[: len(event.prompt)] if event.prompt and event.text.startswith(event.prompt) else ""
        text.append(prompt, style="bold")
        text.append(event.text[len(prompt):].replace("\t", "    "), style="italic")
        self.add_class("-shown")
        self.update(text)

    def show_forecast(self, forecast: dict) -> None:
        from ..forecast import forecast_text

        self.add_class("-shown")
        self.update(forecast_text(forecast, max(20, self.size.width or 72), 8))

    def clear(self) -> None:
        self.last = None
        self.remove_class("-shown")
        self.update("")
