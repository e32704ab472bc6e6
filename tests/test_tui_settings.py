"""The app's settings panel, driven by a Pilot: its switches and inputs make the config a run
uses, a preset saved and loaded again, a bad input, what a switch that cannot apply here says,
the model family's group, the explanation of the focused trick."""

from pathlib import Path

import pytest
from app_pilot import in_app, wait_for, widget
from textual.widgets import Static

from tui_trainer.config import load_config
from tui_trainer.tui.widgets.setting_keys import widget_id
from tui_trainer.tui.widgets.settings_panel import SettingsPanel

pytestmark = pytest.mark.usefixtures("mnist1d")


def test_toggles_and_inputs_change_the_config_a_run_uses(tmp_path):
    async def scenario(app, pilot):
        settings = app.query_one(SettingsPanel)
        await pilot.click(f"#{widget_id('tricks.batchnorm.enabled')}")
        await wait_for(pilot, lambda: not settings.config.tricks.batchnorm.enabled)
        box = widget(app, "tricks.dropout.p")
        box.focus()
        box.value = "0.35"
        await wait_for(pilot, lambda: settings.config.tricks.dropout.p == 0.35)
        widget(app, "tricks.lr_schedule.kind").value = "step"
        await wait_for(pilot, lambda: settings.config.tricks.lr_schedule.kind == "step")
        assert widget(app, "tricks.lr_schedule.step_size").parent.display  # the step's own parameter shows
        assert not widget(app, "tricks.lr_schedule.pct_start").parent.display
        settings.set_value("train.epochs", 1)
        await pilot.pause()
        app.set_focus(None)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session is not None and app.session.finished.is_set()
                       and app.session.summary is not None)
        used = load_config(Path(app.session.run_dir) / "config.toml")
        assert not used.tricks.batchnorm.enabled and used.tricks.dropout.p == 0.35
        assert used.tricks.lr_schedule.kind == "step" and used.train.epochs == 1
        assert used == app.session.config

    in_app(tmp_path, scenario, (120, 40))


def test_save_preset_then_load_gives_an_equal_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    async def scenario(app, pilot):
        settings = app.query_one(SettingsPanel)
        settings.set_value("name", "my-lstm")
        settings.set_value("tricks.grad_clip.mode", "value")
        settings.set_value("tricks.weight_decay.value", 0.05)
        await pilot.pause()
        await pilot.press("ctrl+s")
        path = tmp_path / "config" / "tui-trainer" / "presets" / "my-lstm.toml"
        await wait_for(pilot, path.exists)
        assert load_config(path) == settings.config
        assert settings.config.tricks.grad_clip.mode == "value" and settings.config.tricks.weight_decay.value == 0.05

    in_app(tmp_path, scenario, preset="lstm-mnist1d")


def test_an_invalid_input_blocks_start_with_a_message(tmp_path):
    async def scenario(app, pilot):
        box = widget(app, "tricks.dropout.p")
        box.value = "1.5"
        settings = app.query_one(SettingsPanel)
        await wait_for(pilot, lambda: "tricks.dropout.p" in settings.errors)
        assert box.has_class("-invalid")
        assert "must be at most 0.95" in str(app.query_one("#settings-errors", Static).render())
        app.action_start()
        await pilot.pause()
        assert not app.busy and app.session is None
        box.value = "0.5"
        await wait_for(pilot, lambda: not settings.errors)
        assert not box.has_class("-invalid")

    in_app(tmp_path, scenario)


def test_mixed_precision_switch_is_disabled_with_a_reason_only_where_it_cannot_run(tmp_path):
    import torch

    from tui_trainer.engine.precision import cpu_has_native_bf16

    can_run = torch.cuda.is_available() or cpu_has_native_bf16()

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.torch_info is not None)
        box = widget(app, "tricks.mixed_precision.enabled")
        reason = app.query_one("#reason-mixed_precision", Static)
        if can_run:
            assert not box.disabled and not reason.display
        else:
            assert box.disabled and not box.value
            assert "no native bf16" in str(reason.render())

    in_app(tmp_path, scenario)


def test_focus_explains_the_trick(tmp_path):
    async def scenario(app, pilot):
        widget(app, "tricks.grad_clip.threshold").focus()
        await pilot.pause()
        assert "Gradient clipping" in str(app.query_one("#explain", Static).render())

    in_app(tmp_path, scenario, (120, 40))


def test_the_model_group_shows_only_the_chosen_family(tmp_path):
    def shown(app, key):
        return widget(app, key).parent.display

    async def scenario(app, pilot):
        settings = app.query_one(SettingsPanel)
        assert shown(app, "model.cnn.channels") and not shown(app, "model.lstm.hidden_size")
        widget(app, "model.kind").value = "lstm"
        await wait_for(pilot, lambda: settings.config.model.kind == "lstm")
        assert not shown(app, "model.cnn.channels") and shown(app, "model.lstm.hidden_size")
        widget(app, "model.lstm.hidden_size").value = "32"
        await wait_for(pilot, lambda: settings.config.model.lstm.hidden_size == 32)
        widget(app, "model.kind").value = "cnn"
        widget(app, "model.cnn.channels").value = "16, 32"
        await wait_for(pilot,
                       lambda: settings.config.model.cnn.channels == (16, 32) and settings.config.model.kind == "cnn")
        widget(app, "model.cnn.channels").value = "16, x"
        await wait_for(pilot, lambda: "model.cnn.channels" in settings.errors)
        assert "expected integers separated by commas" in settings.errors["model.cnn.channels"]

    in_app(tmp_path, scenario, (120, 40))


def test_the_panel_reads_a_list_setting_as_its_items_type():
    from tui_trainer.tui.widgets.setting_keys import field_of, parse_text

    assert parse_text(field_of("tricks.lr_schedule.milestones")[0], "0.5, 0.75") == [0.5, 0.75]
    assert parse_text(field_of("model.resnet.widths")[0], "[16, 32, 64]") == [16, 32, 64]
    with pytest.raises(ValueError, match="expected numbers separated by commas"):
        parse_text(field_of("tricks.lr_schedule.milestones")[0], "0.5, half")
