"""The Textual app: pick a preset, switch the tricks, train in a worker process, watch it live.

The app never trains in its own process, and never imports torch: just after the first paint it
starts its worker (:mod:`tui_trainer.worker`), which imports torch while the user looks at the
settings, describes them (the model's size, the device) and runs the jobs the app sends it
(:mod:`.session`; the app's actions on them are in :mod:`.jobs`): one run, ablation, lab or LR
range test at a time. The worker's messages are typed (:mod:`tui_trainer.worker.protocol`) and
dispatched by type: its own to the app, a job's to the job. A 10 Hz timer drains the run's
events into the :class:`~.widgets.monitor.Monitor`; pause, stop and steering are commands
submitted to the run's handle (:mod:`.handle`). The Runs screen asks for an ablation or a stop
with messages and is told of progress the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Label, ListItem, ListView, Static

from ..config import Config, ConfigError, load_config, replace, save_config
from ..config.tricks import MODEL_TRICKS
from ..config.presets import (
    DEFAULT_PRESET,
    PresetEntry,
    list_presets,
    load_preset,
    user_preset_dir,
)
from ..usercode.trust import code_not_trusted
from ..worker.protocol import Describe, Described, Gone, Ready, dispatch
from .explain import EXPLAIN, TITLES
from .handle import RunHandle
from .jobs import JobControl
from .messages import WorkerSaid
from .session import Job
from .widgets.info_panel import InfoPanel
from .widgets.monitor import Monitor
from .widgets.setting_keys import group_of, key_of
from .widgets.settings_panel import SettingsPanel

DRAIN_SECONDS = 0.1
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

    def __init__(self, preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None,
                 overrides: list | None = None):
        """``threads``: torch threads for every run started here (default: the preset's
        ``train.threads``, where 0 means one per core, as ``tui-trainer train``); ``overrides``:
        settings of the preset it opens on (``--set``, ``--epochs``), as ``train`` takes them."""
        super().__init__()
        self.config, self.preset_path = load_preset(preset or DEFAULT_PRESET, overrides or [])
        self.runs_dir = Path(runs_dir)
        self.threads = threads
        self.job: Job | None = None  # the job in the worker (a run, ablation, lab, LR range test), or the last one
        self.session: RunHandle | None = None  # the last run shown: the worker's, or one another process trains
        self.worker = None  # the worker process (worker.client.WorkerClient), started after the first paint
        # from the worker: torch's version and the device, set once it has described the settings
        self.torch_info: dict[str, Any] | None = None
        self._described = 0  # the token of the latest description asked of the worker
        self.start_when_described = False  # s was answered by trusting the preset's code: start once described
        self.quitting = False
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
                yield InfoPanel("starting the worker…", id="info")
                with Horizontal(id="buttons"):
                    yield Button("Start", id="start", variant="success", compact=True)
                    yield Button("Pause", id="pause", compact=True, disabled=True)
                    yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)
                    yield Button("Save preset", id="save", compact=True)
                yield Monitor(id="monitor")
        yield Footer(compact=True, show_command_palette=False)  # every key fits at 80 columns (^p still opens it)

    def on_mount(self) -> None:
        self._fill_presets()
        self._explain("train")
        self.set_interval(DRAIN_SECONDS, self.drain)

    def on_settings_panel_ready(self, _message: SettingsPanel.Ready) -> None:
        """The settings are all there: now start the worker, which imports torch (about 2.7 s)
        in its own process while the user reads them."""
        self.start_worker()
        self._tell_runs_training()

    def _tell_runs_training(self) -> None:
        """Say which runs train without an app (left by an earlier one), and how to reach them."""
        from ..runs.catalog import training_now

        for path, info in training_now(self.runs_dir):
            if info.get("detached"):
                self.monitor.write_log(f"[b]{path.name}[/] is training without an app (process {info.get('pid')}): "
                                       "in the Runs view (r), w follows it here and x stops it")

    def on_unmount(self) -> None:
        if self.worker is not None:
            self.worker.close()  # an idle worker ends; a run not left training stops, resumable

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

    # -- the worker process ---------------------------------------------------------------

    def start_worker(self) -> None:
        from ..worker.client import WorkerClient

        self.worker = WorkerClient(self._from_worker).start()

    def _from_worker(self, message: Any) -> None:
        """A message from the worker, on the client's reader thread: the app's own are posted to the
        app (its UI thread), a job's go to the job in progress."""
        if message.for_app:
            self.post_message(WorkerSaid(message))
        elif self.job is not None and self.job.running:
            self.job.receive(message)

    def on_worker_said(self, said: WorkerSaid) -> None:
        try:
            dispatch(self, said.message)
        except NoMatches:  # the app is closing: its widgets are gone
            pass

    def got_ready(self, _message: Ready) -> None:
        self._update_info()

    def got_described(self, message: Described) -> None:
        if message.token == self._described:
            self._show_description(message.description)
            if self.start_when_described:  # its code was just trusted: start as asked
                self.start_when_described = False
                self.action_start()

    def got_gone(self, message: Gone) -> None:
        """The worker died: the job in it says it failed, and why; a new worker is started."""
        job = self.job
        told = job is not None and job.running and job.owned
        if told:
            job.gone(message.returncode, message.last_line)
        if self.quitting:
            return
        if not told:
            from ..worker.client import how_it_ended

            ended = how_it_ended(message.returncode)
            self.monitor.write_log(f"[yellow]the worker process ended ({ended}); starting a new one[/]")
        self.start_worker()

    def _show_description(self, described: dict[str, Any]) -> None:
        self.query_one(InfoPanel).update(described["text"])
        settings = self.query_one(SettingsPanel)
        settings.set_unavailable("mixed_precision", described.get("mixed_precision"))
        for trick in MODEL_TRICKS:  # a user's factory that takes no argument for it
            settings.set_unavailable(trick, described.get("unavailable", {}).get(trick))
        if self.torch_info is None:
            self.torch_info = dict(self.worker.info or {})

    def _update_info(self) -> None:
        """Ask the worker to describe the current settings (the answer replaces the info panel)."""
        config = self.query_one(SettingsPanel).config
        if self.worker is None or self.worker.info is None:
            self.query_one(InfoPanel).update(f"[b]{config.name}[/]  starting the worker (torch loads there)…")
            return
        if said := code_not_trusted(config):  # describing it would run the preset's own code
            self.query_one(InfoPanel).update(f"[b]{config.name}[/]  {said}")
            return
        self._described += 1
        self.worker.send(Describe(config, self.threads, self._described))

    # -- settings ----------------------------------------------------------------------

    def on_settings_panel_changed(self, message: SettingsPanel.Changed) -> None:
        if not message.errors:
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
        return config if self.threads is None else replace(config, {"train.threads": self.threads})

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


def run_app(preset: str | None = None, runs_dir: Path | str = "runs", threads: int | None = None,
            overrides: list | None = None) -> None:
    TrainerApp(preset, runs_dir, threads, overrides).run()
