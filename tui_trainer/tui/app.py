"""The Textual app: pick a preset, switch the tricks, train in a background thread, watch it live.

The app owns the background jobs (:mod:`.session`; its actions on them are in :mod:`.jobs`):
one training run or one ablation at a time. A 10 Hz timer drains the run's events into the :class:`~.widgets.monitor.Monitor`;
pause, resume and stop go through the job's thread-safe Control. The Runs screen asks for an
ablation or a stop with messages and is told of progress the same way. torch is imported in
a background thread after the first paint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Label, ListItem, ListView, Static

from ..config import Config, ConfigError, load_config, replace, save_config
from ..config.presets import (
    DEFAULT_PRESET,
    PresetEntry,
    list_presets,
    load_preset,
    user_preset_dir,
)
from .explain import EXPLAIN, TITLES
from .jobs import JobControl
from .session import Job, TrainingSession
from .widgets.info_panel import InfoPanel
from .widgets.monitor import Monitor
from .widgets.settings_panel import SettingsPanel, group_of, key_of

DRAIN_SECONDS = 0.1
#: Torch threads for runs started from the app when the preset says 0 (choose). The UI
#: thread needs a core too: measured on 2 cores (bench/tui.py), one torch thread kept the
#: keys answering and lost less throughput than two.
APP_THREADS = 1
#: The UI thread and the training thread share the GIL. With CPython's default 5 ms switch
#: interval the training thread, each time it returns from a torch kernel, can wait up to
#: 5 ms for the UI thread to let go: measured, the CNN ran at about half its headless speed
#: beside a 10 Hz UI. bench/tui.py, CNN, 1 thread: 0.1 ms kept 0.945 of headless, 1 ms 0.901.
SWITCH_INTERVAL = 0.0001
#: Below this many columns the settings step aside while a run trains, for the curves.
NARROW = 100


class PresetItem(ListItem):
    def __init__(self, entry: PresetEntry, *children: Any):
        super().__init__(*children)
        self.entry = entry


class TrainerApp(JobControl, App):
    CSS_PATH = Path(__file__).parent / "styles.tcss"
    TITLE = "tui-trainer"
    AUTO_FOCUS = None  # a focused Input would swallow the single-letter keys
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("x", "stop", "Stop"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f", "settings", "Settings"),
        Binding("r", "runs", "Runs"),
        Binding("d", "data", "Data"),
        Binding("b", "labs", "Labs"),
        Binding("g", "sample", "Sample text", show=False),
        Binding("l", "lr_find", "LR finder", show=False),
        Binding("minus", "steer('lr_times', 0.5)", "LR ×0.5", show=False),  # steering the run that trains
        Binding("plus,equals_sign", "steer('lr_times', 2.0)", "LR ×2", show=False),
        Binding("c", "steer('clip', 'toggle')", "Clipping on/off", show=False),
        Binding("left_square_bracket", "steer('patience_by', -1)", "Patience -1", show=False),
        Binding("right_square_bracket", "steer('patience_by', 1)", "Patience +1", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("escape", "blur", "Leave input", show=False),
    ]

    def __init__(self, preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None):
        super().__init__()
        self.config, self.preset_path = load_preset(preset or DEFAULT_PRESET)
        self.runs_dir = Path(runs_dir)
        self.threads = threads
        self.job: Job | None = None  # the training run or ablation in progress, or the last one
        self.session: TrainingSession | None = None  # the last training run
        self.torch_info: dict[str, Any] | None = None
        self.runs_screen = None
        self.labs_screen = None
        self.settings_hidden = False  # by the user (f); a narrow screen also hides them while training

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ListView(id="presets")
                yield SettingsPanel(self.config, id="settings")
                with VerticalScroll(id="explain-box"):
                    yield Static(id="explain")
            with Vertical(id="right"):
                yield InfoPanel("loading torch…", id="info")
                with Horizontal(id="buttons"):
                    yield Button("Start", id="start", variant="success", compact=True)
                    yield Button("Pause", id="pause", compact=True, disabled=True)
                    yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)
                    yield Button("Save preset", id="save", compact=True)
                yield Monitor(id="monitor")
        yield Footer()

    def on_mount(self) -> None:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._fill_presets()
        self._explain("train")
        self.set_interval(DRAIN_SECONDS, self.drain)

    def on_settings_panel_ready(self, _message: SettingsPanel.Ready) -> None:
        """The settings are all there: now import torch, in the background. Importing it holds
        the GIL for about 2 s; started earlier, it slowed the first screen down."""
        self.load_torch()

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)

    def _fill_presets(self) -> None:
        view = self.query_one("#presets", ListView)
        view.clear()
        current = self.preset_path.resolve()
        for i, entry in enumerate(list_presets()):
            view.append(PresetItem(entry, Label(f"{entry.name}  [dim]{entry.listing()}[/]")))
            if entry.path.resolve() == current:
                view.index = i

    def on_resize(self, event: events.Resize) -> None:
        self._place_settings()

    def _place_settings(self) -> None:
        """The settings column shows unless the user hid it, or the screen is narrow and a run trains."""
        narrow = self.size.width < NARROW
        hidden = self.settings_hidden or (narrow and self.training)
        self.query_one("#left").display = not hidden

    # -- torch, loaded after the first paint ---------------------------------------------------

    @work(thread=True, exit_on_error=False, group="torch")
    def load_torch(self) -> None:
        import torch

        from ..engine.precision import resolve_device

        info = {"device": str(resolve_device("auto")), "cuda": torch.cuda.is_available(), "torch": torch.__version__}
        self.call_from_thread(self._torch_ready, info)

    def _torch_ready(self, info: dict[str, Any]) -> None:
        self.torch_info = info
        self._check_availability()
        self._update_info()

    def _check_availability(self) -> None:
        """Disable the mixed-precision switch where it cannot work, with the reason."""
        from ..engine.precision import why_not_here

        settings = self.query_one(SettingsPanel)
        try:
            why = why_not_here(replace(settings.config, {"tricks.mixed_precision.enabled": True}))
        except ConfigError:
            why = None
        reason = None if why is None else "unavailable: " + why.split(": ", 1)[-1].split(":")[0].split(";")[0]
        settings.set_unavailable("mixed_precision", reason)

    def _update_info(self) -> None:
        config = self.query_one(SettingsPanel).config
        self.query_one(InfoPanel).show(config, self._threads(config), self.torch_info is not None)

    def _threads(self, config: Config) -> int:
        if self.threads:
            return self.threads
        return config.train.threads or APP_THREADS

    # -- settings ----------------------------------------------------------------------

    def on_settings_panel_changed(self, message: SettingsPanel.Changed) -> None:
        if self.torch_info is not None:
            self._update_info()
        self.query_one("#start", Button).disabled = self.busy or bool(message.errors)

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if self.busy or not isinstance(event.item, PresetItem):
            return
        entry = event.item.entry
        try:
            config = load_config(entry.path)
        except ConfigError as exc:
            self.monitor.write_log(f"[red]cannot load {entry.path}:[/] {exc}")
            return
        self.config, self.preset_path = config, entry.path
        self.query_one(SettingsPanel).load(config)
        if self.torch_info is not None:
            self._check_availability()
            self._update_info()
        self.monitor.write_log(f"preset {entry.name} loaded from {entry.path}")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        key = key_of(getattr(event.widget, "id", None))
        if key is not None:
            self._explain(group_of(key))

    def _explain(self, group: str) -> None:
        text = EXPLAIN.get(group)
        if text:
            self.query_one("#explain", Static).update(f"[b]{TITLES[group]}[/]: {text}")
            self.query_one("#explain-box").scroll_home(animate=False)

    # -- state ---------------------------------------------------------------------------

    @property
    def monitor(self) -> Monitor:
        return self.query_one(Monitor)

    def _settings_ok(self, what: str) -> Config | None:
        settings = self.query_one(SettingsPanel)
        if settings.errors:
            problems = "; ".join(f"{k}: {m}" for k, m in settings.errors.items())
            self.monitor.write_log(f"[red]cannot {what}:[/] fix {problems}")
            self.notify(f"cannot {what}: {problems}", severity="error")
            return None
        config = settings.config
        return config if config.train.threads else replace(config, {"train.threads": self._threads(config)})

    # -- actions ---------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("start", "pause", "stop", "save"):
            getattr(self, f"action_{event.button.id}")()

    def action_save(self) -> None:
        settings = self.query_one(SettingsPanel)
        if settings.errors:
            self.notify("fix the highlighted settings before saving", severity="error")
            return
        config = settings.config
        path = user_preset_dir() / f"{config.name}.toml"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_config(config, path)
        except OSError as exc:
            self.monitor.write_log(f"[red]cannot save {path}:[/] {exc.strerror or exc}")
            return
        self.preset_path = path
        self.monitor.write_log(f"saved preset {path}\n  headless: tui-trainer train {path}")
        self.notify(f"saved {path}")
        if not self.busy:
            self._fill_presets()

    def action_settings(self) -> None:
        self.settings_hidden = not self.settings_hidden
        self._place_settings()

    def action_runs(self) -> None:
        """The Runs view: past runs, overlaid curves, ablations."""
        from .screens.runs import RunsScreen

        if self.runs_screen is None:
            self.runs_screen = RunsScreen(self.runs_dir)
        self.push_screen(self.runs_screen)

    def action_labs(self) -> None:
        """The Labs view: the lesson's questions, run as experiments with their curves and verdict."""
        from .screens.labs import LabsScreen

        if self.labs_screen is None:
            self.labs_screen = LabsScreen(self.runs_dir)
        self.push_screen(self.labs_screen)

    def action_data(self) -> None:  # the Data view: the current settings' dataset, with sample images
        from .screens.data import DataScreen

        settings = self.query_one(SettingsPanel)
        if settings.errors:
            return self.notify("fix the highlighted settings first", severity="error")
        self.push_screen(DataScreen(settings.config))

    def action_blur(self) -> None:
        self.set_focus(None)


def run_app(preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None) -> None:
    TrainerApp(preset, runs_dir, threads).run()
