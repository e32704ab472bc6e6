"""The Textual app: pick a preset, switch the tricks, train in a background thread, watch it live.

The training thread never touches the UI: the engine's events go into a deque, and a 10 Hz
timer drains it into the monitor (posting one message per step cut throughput by more than
half and froze the screen). Pause, resume and stop go through the engine's thread-safe
:class:`~tui_trainer.engine.Control`. torch is imported in a background thread after the
first paint.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import Counter, deque
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Header, Label, ListItem, ListView, Static
from textual.worker import Worker, WorkerState

from ..config import Config, ConfigError, load_config, replace, save_config
from ..config.presets import DEFAULT_PRESET, PresetEntry, list_presets, load_preset, user_preset_dir
from ..engine.control import Control
from ..engine.events import RunEnded, RunWarning
from ..errors import UserError
from .explain import EXPLAIN, TITLES
from .monitor import Monitor
from .settings import SettingsPanel, group_of, key_of

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


class PresetItem(ListItem):
    def __init__(self, entry: PresetEntry, *children: Any):
        super().__init__(*children)
        self.entry = entry


class TrainerApp(App):
    CSS_PATH = Path(__file__).parent / "styles.tcss"
    TITLE = "tui-trainer"
    AUTO_FOCUS = None  # a focused Input would swallow the single-letter keys
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop"),
        Binding("ctrl+s", "save", "Save preset", priority=True),
        Binding("r", "runs", "Runs"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("escape", "blur", "Leave input", show=False),
    ]

    def __init__(self, preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None):
        super().__init__()
        self.config, self.preset_path = load_preset(preset or DEFAULT_PRESET)
        self.runs_dir = Path(runs_dir)
        self.threads = threads
        self.events: deque = deque()
        self.control: Control | None = None
        self.train_worker: Worker | None = None
        self.finished = threading.Event()
        self.torch_info: dict[str, Any] | None = None
        self.last_run_dir: str | None = None
        self.last_result: dict[str, Any] | None = None
        self.run_config: Config | None = None
        self.runs_screen = None

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ListView(id="presets")
                yield SettingsPanel(self.config, id="settings")
                yield Static(id="explain")
            with Vertical(id="right"):
                yield Static("loading torch…", id="info")
                with Horizontal(id="buttons"):
                    yield Button("Start", id="start", variant="success", compact=True)
                    yield Button("Pause", id="pause", compact=True, disabled=True)
                    yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)
                    yield Button("Save preset", id="save", compact=True)
                yield Monitor(id="monitor")
        yield Footer()

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)

    def on_mount(self) -> None:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._fill_presets()
        self._explain("train")
        self.set_interval(DRAIN_SECONDS, self.drain)
        self.load_torch()

    def _fill_presets(self) -> None:
        view = self.query_one("#presets", ListView)
        view.clear()
        self.preset_entries = list_presets()
        current = self.preset_path.resolve()
        for i, entry in enumerate(self.preset_entries):
            view.append(PresetItem(entry, Label(f"{entry.name}  [dim]{entry.origin}[/]")))
            if entry.path.resolve() == current:
                view.index = i

    # -- torch, loaded after the first paint ---------------------------------------------------

    @work(thread=True, exit_on_error=False, group="torch")
    def load_torch(self) -> None:
        import torch

        from ..engine.precision import resolve_device

        device = resolve_device("auto")
        info = {"device": str(device), "cuda": torch.cuda.is_available(), "torch": torch.__version__}
        self.call_from_thread(self._torch_ready, info)

    def _torch_ready(self, info: dict[str, Any]) -> None:
        self.torch_info = info
        self._check_availability()
        self._update_info()

    def _check_availability(self) -> None:
        """Disable the mixed-precision switch where it cannot work, with the reason."""
        from ..engine.precision import SetupError, resolve_device, resolve_precision

        config = self.query_one(SettingsPanel).config
        try:
            probe = replace(config, {"tricks.mixed_precision.enabled": True})
            resolve_precision(probe, resolve_device(config.train.device))
            reason = None
        except SetupError as exc:
            text = str(exc).split(": ", 1)[-1]
            reason = "unavailable: " + text.split(":")[0].split(";")[0]
        except ConfigError:
            reason = None
        self.query_one(SettingsPanel).set_unavailable("mixed_precision", reason)

    def _update_info(self) -> None:
        config = self.query_one(SettingsPanel).config
        info = self.query_one("#info", Static)
        if self.torch_info is None:
            info.update(f"[b]{config.name}[/]  loading torch…")
            return
        from ..data import SIZES, dataset_spec
        from ..engine.precision import SetupError, resolve_device, resolve_precision
        from ..models import build_model, count_parameters

        spec = dataset_spec(config.data.dataset)
        model = build_model(spec, config)
        layers = Counter(type(m).__name__ for m in model.modules() if not list(m.children()))
        layer_text = " ".join(f"{name}×{n}" for name, n in layers.items())
        train_n, test_n = SIZES[config.data.dataset]
        try:
            device = resolve_device(config.train.device)
            precision = resolve_precision(config, device).name
        except SetupError as exc:
            device, precision = config.train.device, f"[red]{exc}[/]"
        n_val = round(train_n * config.data.val_fraction)
        info.update(
            f"[b]{config.name}[/]  {spec.name} {train_n - n_val:,}/{n_val:,}/{test_n:,} (train/val/test) "
            f"{spec.input_shape}→{spec.num_classes}\n"
            f"{config.model.kind.upper()} {count_parameters(model):,} params  on [b]{device}[/] "
            f"[b]{precision}[/]  {self._threads(config)} thread(s)\n"
            f"[dim]{layer_text}[/]"
        )

    def _threads(self, config: Config) -> int:
        if self.threads:
            return self.threads
        return config.train.threads or APP_THREADS

    # -- settings ----------------------------------------------------------------------

    def on_settings_panel_changed(self, message: SettingsPanel.Changed) -> None:
        if self.torch_info is not None:
            self._update_info()
        self.query_one("#start", Button).disabled = self.running or bool(message.errors)

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if self.running or not isinstance(event.item, PresetItem):
            return
        entry = event.item.entry
        try:
            config = load_config(entry.path)
        except ConfigError as exc:
            self.monitor.write_log(f"[red]cannot load {entry.path}:[/] {exc}")
            return
        self.config, self.preset_path = config, entry.path
        settings = self.query_one(SettingsPanel)
        settings.load(config)
        if self.torch_info is not None:
            self._check_availability()
            self._update_info()
        self.monitor.write_log(f"preset {entry.name} loaded from {entry.path}")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        key = key_of(getattr(event.widget, "id", None))
        if key is not None:
            self._explain(group_of(key) if key != "name" else "train")

    def _explain(self, group: str) -> None:
        text = EXPLAIN.get(group)
        if text:
            self.query_one("#explain", Static).update(f"[b]{TITLES[group]}[/]: {text}")

    # -- actions ---------------------------------------------------------------------------

    @property
    def monitor(self) -> Monitor:
        return self.query_one(Monitor)

    @property
    def running(self) -> bool:
        return self.train_worker is not None and not self.finished.is_set()

    def current_config(self) -> Config:
        return self.query_one(SettingsPanel).config

    def settings_errors(self) -> dict[str, str]:
        return self.query_one(SettingsPanel).errors

    def action_runs(self) -> None:
        """The Runs view: past runs, overlaid curves, ablations."""
        from .runs_view import RunsScreen

        if self.runs_screen is None:
            self.runs_screen = RunsScreen(self.runs_dir)
        self.push_screen(self.runs_screen)

    def action_blur(self) -> None:
        self.set_focus(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"start": self.action_start, "pause": self.action_pause, "stop": self.action_stop, "save": self.action_save}
        if event.button.id in actions:
            actions[event.button.id]()

    def action_start(self) -> None:
        settings = self.query_one(SettingsPanel)
        if self.running:
            self.notify("a run is already going: stop it first (x)", severity="warning")
            return
        if self.runs_screen is not None and self.runs_screen.ablating:
            self.notify("an ablation is running (Runs view, r): stop it first", severity="warning")
            return
        if settings.errors:
            problems = "; ".join(f"{k}: {m}" for k, m in settings.errors.items())
            self.monitor.write_log(f"[red]cannot start:[/] fix {problems}")
            self.notify(f"cannot start: {problems}", severity="error")
            return
        config = settings.config
        if not config.train.threads:
            config = replace(config, {"train.threads": self._threads(config)})
        self.run_config = config
        self.control = Control()
        self.finished.clear()
        self.events.clear()
        self._lock(True)
        self.train_worker = self.train(config, self.control)

    @work(thread=True, exit_on_error=False, group="train")
    def train(self, config: Config, control: Control) -> None:
        from ..engine.trainer import Trainer
        from ..runs import RunFolder

        try:
            trainer = Trainer(config, sinks=[self.events.append])
            trainer.prepare()
            trainer.run_folder = RunFolder.create(self.runs_dir, config.name)
            trainer.sinks.insert(0, trainer.run_folder.sink)
            if control.stop_requested:  # stopped while preparing
                return
            result = trainer.run(control)
            self.last_result = result.summary
            self.last_run_dir = result.run_dir
        except UserError as exc:
            self.events.append(RunWarning(str(exc)))
            self.events.append(RunEnded("failed", str(exc), {}))
        except Exception as exc:  # a bug: show it, keep the app alive
            self.events.append(RunWarning(f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            self.finished.set()

    def action_pause(self) -> None:
        if not self.running or self.control is None:
            return
        if self.control.paused:
            self.control.resume()
            self.monitor.paused = False
            self.monitor.write_log("resumed")
            self.query_one("#pause", Button).label = "Pause"
        else:
            self.control.pause()
            self.monitor.paused = True
            self.monitor.write_log("paused: p resumes")
            self.query_one("#pause", Button).label = "Resume"
        self.monitor.redraw()

    def action_stop(self) -> None:
        if self.running and self.control is not None:
            self.control.stop("stopped from the app")
            self.monitor.write_log("stopping after the current step…")

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
        if not self.running:
            self._fill_presets()

    async def action_quit(self) -> None:
        if self.runs_screen is not None and self.runs_screen.ablating:
            self.runs_screen.action_stop_ablation()
            for _ in range(300):  # the current run ends, writes last.pt and its summary
                if not self.runs_screen.ablating:
                    break
                await asyncio.sleep(0.1)
        if self.running and self.control is not None:
            self.control.stop("the app was closed")
            self.monitor.write_log("stopping the run before quitting…")
            await asyncio.to_thread(self.finished.wait, 30)
        self.exit()

    def _lock(self, locked: bool) -> None:
        self.query_one(SettingsPanel).disabled = locked
        self.query_one("#presets", ListView).disabled = locked
        self.query_one("#start", Button).disabled = locked
        self.query_one("#pause", Button).disabled = not locked
        self.query_one("#stop", Button).disabled = not locked
        self.query_one("#pause", Button).label = "Pause"

    # -- the 10 Hz drain ---------------------------------------------------------------------

    def drain(self) -> None:
        if not self.events:
            return
        try:
            monitor = self.monitor
        except NoMatches:  # the app is closing: its widgets are gone
            return
        batch = []
        while self.events:
            batch.append(self.events.popleft())
        monitor.feed(batch)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.train_worker or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.drain()
        if event.state == WorkerState.ERROR:
            self.monitor.write_log(f"[red]the run failed:[/] {event.worker.error}")
        self._lock(False)
        self.query_one("#start", Button).disabled = bool(self.query_one(SettingsPanel).errors)
        self.monitor.paused = False
        self.monitor.redraw()


def run_app(preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None) -> None:
    TrainerApp(preset, runs_dir, threads).run()
