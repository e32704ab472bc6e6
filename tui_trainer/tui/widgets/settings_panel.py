"""The settings panel: the training basics, the data, the model, and one group per trick,
built from the schema.

Every edit is validated at once by the same loader as the CLI (``config_from_dict``), so a
value the CLI would refuse is refused here with the same message, next to the input.
The panel holds the last valid :class:`Config`; ``errors`` maps key paths to what is wrong.
Only what applies is shown: the chosen model family's settings (``[model.<kind>]``) and the
chosen LR schedule's parameters.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from ...config import Config, ConfigError, config_from_dict, config_to_dict
from ...config.fields import field_types, variant_tables
from ...config.schema import DATA_READ_BY, ModelConfig
from ...config.tricks import SCHEDULES, TRICKS
from ...usercode import plugins
from .plugin_rows import applies, plugin_field, plugin_rows, plugin_value
from ..explain import TITLES

TRAIN_FIELDS = ("epochs", "lr", "batch_size", "seed")
DATA_FIELDS = ("dataset", "path", "seq_len", "random_offsets", "column", "date_column", "window", "horizon", "season",
               "transform", "val_periods", "test_periods", "image_size", "color", "val_fraction", "test_fraction",
               "split_seed", "python.loader")
#: model.kind, then each family's settings (only the chosen family's rows are shown); a free table (the
#: arguments of a user's callable) is edited in the preset file, not here.
MODEL_FIELDS = ("kind", *(f"{family}.{f.name}" for family in variant_tables(ModelConfig)
                          for f in dataclasses.fields(field_types(ModelConfig)[family])
                          if typing.get_origin(field_types(field_types(ModelConfig)[family])[f.name]) is not dict))
LABELS = {"p": "p", "warmup_epochs": "warm-up epochs", "warmup_steps": "warm-up steps",
          "random_offsets": "random offsets", "date_column": "date column", "val_periods": "val periods",
          "test_periods": "test periods", "warmup_start_factor": "warm-up from ×",
          "exclude_bias_and_norm": "skip bias & norm", "restore_best": "restore best", "min_delta": "min delta",
          "step_size": "step size", "min_lr": "min lr", "pct_start": "pct start", "div_factor": "div factor",
          "final_div_factor": "final div", "batch_size": "batch size", "val_fraction": "val fraction",
          "split_seed": "split seed", "kernel_size": "kernel size", "pool_every": "pool every",
          "fc_hidden": "fc hidden", "hidden_size": "hidden size", "num_layers": "layers", "image_size": "image size",
          "test_fraction": "test fraction", "conv_bias": "conv bias", "crop_padding": "crop padding",
          "input_shape": "built for", "seq_len": "seq len", "embedding_dim": "embedding", "factory": "factory",
          "loader": "loader"}


def widget_id(key: str) -> str:
    return "f-" + key.replace(".", "--")


def key_of(widget_id_: str | None) -> str | None:
    if not widget_id_ or not widget_id_.startswith("f-"):
        return None
    return widget_id_[2:].replace("--", ".")


def group_of(key: str) -> str:
    """``tricks.dropout.p`` -> ``dropout``; ``train.lr`` -> ``train``; ``name`` -> ``train``."""
    parts = key.split(".")
    if len(parts) == 1:
        return "train"
    return parts[1] if parts[0] == "tricks" else parts[0]


def _field(key: str) -> tuple[Any, dataclasses.Field]:
    """The declared type and the dataclass field of a dotted key (a plugin's setting: as it declares it)."""
    if (declared := plugin_field(key)) is not None:
        return declared
    cls: Any = Config
    parts = key.split(".")
    for part in parts[:-1]:
        cls = field_types(cls)[part]
    hints = field_types(cls)
    return hints[parts[-1]], {f.name: f for f in dataclasses.fields(cls)}[parts[-1]]


def _get(config: Config, key: str) -> Any:
    try:
        return plugin_value(config, key)
    except KeyError:
        pass  # one of the schema's settings
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


class LaterGroups(Vertical):
    """The groups after the training basics; tells the panel when they are mounted."""

    class Mounted(Message):
        pass

    def on_mount(self) -> None:
        self.post_message(self.Mounted())


class SettingsPanel(VerticalScroll):
    """Edits a Config. Posts :class:`SettingsPanel.Changed` after each edit.

    Only the training basics are mounted with the first screen; the other groups follow just
    after the first paint (``textual.lazy.Lazy``): the panel's 300-odd widgets took 0.4 s of
    the first screen (measured at 120x40 on 2 cores). :attr:`ready` says when all are there."""

    class Ready(Message):
        """Every group is mounted."""

    class Changed(Message):
        def __init__(self, config: Config, errors: dict[str, str]):
            super().__init__()
            self.config = config
            self.errors = errors

    def __init__(self, config: Config, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self._base = config_to_dict(config)
        self._edits: dict[str, Any] = {}
        self._parse_errors: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._loading = False
        self.unavailable: dict[str, str] = {}
        self.ready = False  # every group mounted (the later ones mount just after the first paint)
        self.plugin_rows = {group: plugin_rows(group) for group in ("data", "model")}  # installed plugins' settings

    @property
    def settled(self) -> bool:
        """Every group mounted, laid out and showing the settings: a change made now is taken as an edit (one made
        while the controls are being filled in is not)."""
        return self.ready and not self._loading

    # -- building ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="group", id="group-train"):
            yield Label(TITLES["train"], classes="group-title")
            yield self._row("name")
            for name in TRAIN_FIELDS:
                yield self._row(f"train.{name}")
        with Lazy(LaterGroups(id="group-more")):  # mounted just after the first paint, in one go
            for name, fields in (("data", (*DATA_FIELDS, *self.plugin_rows["data"])),
                                 ("model", (*MODEL_FIELDS, *self.plugin_rows["model"]))):
                with Vertical(classes="group", id=f"group-{name}"):
                    yield Label(TITLES[name], classes="group-title")
                    for field_name in fields:
                        yield self._row(f"{name}.{field_name}")
            for trick in TRICKS.values():
                with Vertical(classes="group", id=f"group-{trick.name}"):
                    key = f"tricks.{trick.name}.enabled"
                    yield Checkbox(trick.title, _get(self.config, key), id=widget_id(key), compact=True,
                                   tooltip=trick.help)
                    yield Static("", classes="reason", id=f"reason-{trick.name}")
                    for name in trick.panel:
                        yield self._row(f"tricks.{trick.name}.{name}")
        yield Static("", id="settings-errors")

    def _row(self, key: str) -> Horizontal:
        kind, f = _field(key)
        value = _get(self.config, key)
        name = key.rsplit(".", 1)[-1]
        label = LABELS.get(name, "model" if key == "model.kind" else name)
        help_ = f.metadata.get("help", "")
        if kind is bool:
            widget: Any = Checkbox(label, value, id=widget_id(key), compact=True, tooltip=help_)
            return Horizontal(Label(""), widget, classes="row", id=f"row-{widget_id(key)}")
        if "choices" in f.metadata:
            extra = plugins.names(f.metadata["plugins"]) if "plugins" in f.metadata else ()  # installed plugins' too
            options = [(c, c) for c in (*f.metadata["choices"], *extra)]
            widget = Select(options, value=value, allow_blank=False, id=widget_id(key), compact=True, tooltip=help_)
        else:
            input_type = {int: "integer", float: "number"}.get(kind, "text")
            widget = Input(_format(value), type=input_type, id=widget_id(key), compact=True, tooltip=help_)
        return Horizontal(Label(label), widget, classes="row", id=f"row-{widget_id(key)}")

    def on_mount(self) -> None:
        self._show_relevant()

    def on_later_groups_mounted(self, message: LaterGroups.Mounted) -> None:
        """The groups after the basics are mounted: bring them up to what the panel holds now."""
        message.stop()
        self.ready = True
        self._sync(self.query_one(LaterGroups))
        self.post_message(self.Ready())

    # -- loading a preset ----------------------------------------------------------------

    def load(self, config: Config) -> None:
        """Show ``config`` in every control and forget pending edits and errors."""
        self.config = config
        self._base = config_to_dict(config)
        self._edits.clear()
        self._parse_errors.clear()
        self.errors.clear()
        self._sync(self)
        self._show_errors()

    def _sync(self, root: Widget) -> None:
        """Show the settings held in every control under ``root``, with its error mark, and
        which rows and switches apply."""
        self._loading = True
        try:
            for widget in root.query("Input, Select, Checkbox"):
                key = key_of(widget.id)
                if key is None:
                    continue
                if key not in self._edits and key not in self._parse_errors:
                    value = _get(self.config, key)
                    widget.value = _format(value) if isinstance(widget, Input) else value
                widget.set_class(key in self.errors, "-invalid")
        finally:
            self.call_after_refresh(self._end_loading)
        for trick, reason in list(self.unavailable.items()):
            self.set_unavailable(trick, reason)
        self._show_relevant()

    def _end_loading(self) -> None:
        self._loading = False

    # -- edits --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        key = key_of(event.input.id)
        if key is None or self._loading:
            return
        event.stop()
        kind, _ = _field(key)
        text = event.value.strip()
        try:
            value: Any = _parse(kind, text)
            if self._unchanged(key, value):
                return
        except ValueError as exc:
            self._edits.pop(key, None)
            self._parse_errors[key] = f"{exc}, got {text!r}"
        else:
            self._parse_errors.pop(key, None)
            self._edits[key] = value
        self._validate()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._choose(event, event.checkbox.id, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self._choose(event, event.select.id, event.value)

    def _choose(self, event: Message, control_id: str | None, value: Any) -> None:
        """A switch or a choice changed: validate, and show what applies to it."""
        key = key_of(control_id)
        if key is None or self._loading:
            return
        event.stop()
        if self._unchanged(key, value):
            return
        self._edits[key] = value
        self._validate()
        self._show_relevant()

    def _unchanged(self, key: str, value: Any) -> bool:
        """A control reporting the value the settings already hold (as each does when it is
        mounted): nothing to validate. 37 needless validations made the first paint 0.7 s slower."""
        if key in self._edits or key in self._parse_errors:
            return False
        current = _get(self.config, key)
        return (tuple(value) if isinstance(value, list) else value) == current

    def set_value(self, key: str, value: Any) -> None:
        """Change a setting as if the user had (used by tests and by guards)."""
        widget = self.query_one(f"#{widget_id(key)}")
        if isinstance(widget, Input):
            widget.value = _format(tuple(value) if isinstance(value, list) else value)
        else:
            widget.value = value
        self._parse_errors.pop(key, None)
        self._edits[key] = list(value) if isinstance(value, tuple) else value
        self._validate()
        self._show_relevant()

    def _validate(self) -> None:
        errors = dict(self._parse_errors)
        choice = {"model": self._edits.get("model.kind", self.config.model.kind),
                  "data": self._edits.get("data.dataset", self.config.data.dataset)}
        edits = [(k, v, k) for k, v in self._edits.items() if applies(k, choice)]  # a plugin's: while it is chosen
        try:
            self.config = config_from_dict(self._base, "<settings>", edits)
        except ConfigError as exc:
            for _source, path, message in exc.items:
                errors.setdefault(path, message)
            if not exc.items:
                errors["?"] = str(exc)
        self.errors = errors
        for widget in self.query("Input, Select, Checkbox"):
            key = key_of(widget.id)
            if key is not None:
                widget.set_class(key in errors, "-invalid")
        self._show_errors()
        self.post_message(self.Changed(self.config, dict(self.errors)))

    def _show_errors(self) -> None:
        text = "\n".join(f"{key}: {message}" for key, message in self.errors.items())
        self.query_one("#settings-errors", Static).update(text)

    def _show_relevant(self) -> None:
        """Show the chosen model family's rows, the data settings the dataset reads and the chosen schedule's
        parameters only (rows not mounted yet are shown right when their group mounts)."""
        family = self.config.model.kind
        for name in (*MODEL_FIELDS[1:], *self.plugin_rows["model"]):
            for row in self.query(f"#row-{widget_id(f'model.{name}')}"):
                row.display = name.split(".")[0] == family
        for name, datasets in (*DATA_READ_BY.items(), *((n, (n.split(".")[0],)) for n in self.plugin_rows["data"])):
            for row in self.query(f"#row-{widget_id(f'data.{name}')}"):
                row.display = self.config.data.dataset in datasets
        wanted = SCHEDULES[self.config.tricks.lr_schedule.kind].reads  # what the chosen kind declares it reads
        for name in TRICKS["lr_schedule"].panel[1:]:
            for row in self.query(f"#row-{widget_id(f'tricks.lr_schedule.{name}')}"):
                row.display = name in wanted

    # -- availability ----------------------------------------------------------------------

    def set_unavailable(self, trick: str, reason: str | None) -> None:
        """Disable a trick's switch here, with the reason shown under it; None enables it."""
        if reason is None:
            self.unavailable.pop(trick, None)
        else:
            self.unavailable[trick] = reason
        if not self.ready:  # _sync applies it when the group mounts
            return
        key = f"tricks.{trick}.enabled"
        checkbox = self.query_one(f"#{widget_id(key)}", Checkbox)
        reason_widget = self.query_one(f"#reason-{trick}", Static)
        if reason is None:
            checkbox.disabled = False
            reason_widget.update("")
            reason_widget.display = False
            return
        if checkbox.value:
            self.set_value(key, False)
        checkbox.disabled = True
        reason_widget.update(reason)
        reason_widget.display = True


def _format(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def _parse(kind: Any, text: str) -> Any:
    """The value an input's text stands for; ValueError says what was expected."""
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}") from None
    if typing.get_origin(kind) is tuple:  # "32, 64, 64" (or "[32, 64, 64]"); "0.5, 0.75"
        item = typing.get_args(kind)[0]
        try:
            inner = text.strip().strip("[]").strip()
            return [item(part) for part in inner.split(",")] if inner else []
        except ValueError:
            raise ValueError(f"expected {'integers' if item is int else 'numbers'} separated by commas") from None
    return text
