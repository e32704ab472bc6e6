"""The settings panel: the training basics, the data, the model, and one group per trick,
built from the schema.

Every edit is validated at once by the same loader as the CLI (``config_from_dict``), so a
value the CLI would refuse is refused here with the same message, next to the input.
The panel holds the last valid :class:`Config`; ``errors`` maps key paths to what is wrong.
Only what applies is shown: the chosen model family's settings (``[model.<kind>]``) and the
chosen LR schedule's parameters. Which rows there are, and each key's type, value and text, are
:mod:`.setting_keys`'s.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from ...config import Config, ConfigError, config_from_dict, config_to_dict
from ...config.schema import DATA_READ_BY
from ...config.tricks import SCHEDULES, TRICKS
from ...usercode import plugins
from ..explain import TITLES
from .plugin_rows import applies, plugin_rows
from .setting_keys import (
    DATA_FIELDS,
    LABELS,
    MODEL_FIELDS,
    TRAIN_FIELDS,
    field_of,
    key_of,
    parse_text,
    text_of,
    value_of,
    widget_id,
)


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
                    yield Checkbox(trick.title, value_of(self.config, key), id=widget_id(key), compact=True,
                                   tooltip=trick.help)
                    yield Static("", classes="reason", id=f"reason-{trick.name}")
                    for name in trick.panel:
                        yield self._row(f"tricks.{trick.name}.{name}")
        yield Static("", id="settings-errors")

    def _row(self, key: str) -> Horizontal:
        kind, f = field_of(key)
        value = value_of(self.config, key)
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
            widget = Input(text_of(value), type=input_type, id=widget_id(key), compact=True, tooltip=help_)
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
                    value = value_of(self.config, key)
                    widget.value = text_of(value) if isinstance(widget, Input) else value
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
        kind, _ = field_of(key)
        text = event.value.strip()
        try:
            value: Any = parse_text(kind, text)
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
        current = value_of(self.config, key)
        return (tuple(value) if isinstance(value, list) else value) == current

    def set_value(self, key: str, value: Any) -> None:
        """Change a setting as if the user had (used by tests and by guards)."""
        widget = self.query_one(f"#{widget_id(key)}")
        if isinstance(widget, Input):
            widget.value = text_of(tuple(value) if isinstance(value, list) else value)
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
