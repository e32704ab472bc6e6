"""The app's main screen, driven by a Pilot: the settings, a run's start, pause and stop, the
keys that act on a run (samples, steering), the LR finder. The Runs view is in test_tui_runs.py."""

from pathlib import Path

import pytest
from app_pilot import in_app, start_training, wait_for, widget
from textual.widgets import Static

from tui_trainer.config import load_config
from tui_trainer.tui.widgets.live_view import LiveView
from tui_trainer.tui.widgets.monitor import Monitor
from tui_trainer.tui.widgets.settings_panel import SettingsPanel, widget_id
from tui_trainer.tui.widgets.tail_log import TailLog

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


def test_start_feeds_the_curves_and_stop_ends_the_run_with_a_checkpoint(tmp_path):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.torch_info is not None)
        monitor = app.query_one(Monitor)
        app.action_start()
        await wait_for(pilot, lambda: len(monitor.series("loss")) > 10)
        await wait_for(pilot, lambda: len(monitor.series("val_loss")) >= 1)
        assert app.query_one(SettingsPanel).disabled  # settings locked while running
        assert len(monitor.series("lr")) > 10 and len(monitor.series("grad_norm")) > 10
        await pilot.pause(0.4)  # curves are redrawn at most every 0.3 s
        screen = app.query_one(LiveView).plain_lines()
        assert "epoch" in screen[0]
        loss_rows = screen[3:5]  # status (2 rows), progress, then the loss curve
        assert loss_rows[0].startswith("loss ") and " log" in loss_rows[1]
        assert any(ch in "▁▂▃▄▅▆▇█" for ch in "".join(loss_rows))
        assert "≤1" in next(line for line in screen if line.startswith("|g|"))  # the clip threshold
        assert screen[-2].startswith("clipped ") and "★" in screen[-2]  # the marker row: epoch 1 was a new best
        assert "★ best" in screen[-1]  # its legend
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)  # a stop saves last.pt and scores the test split first
        await wait_for(pilot, lambda: not app.query_one(SettingsPanel).disabled)
        run = Path(app.session.run_dir)
        assert (run / "last.pt").exists() and app.session.summary["status"] == "stopped"

    in_app(tmp_path, scenario, (80, 24))


def test_pause_and_resume(tmp_path):
    async def scenario(app, pilot):
        monitor = app.query_one(Monitor)
        await start_training(app, pilot, 10)  # long enough not to end before the pause lands
        app.action_pause()
        await wait_for(pilot, lambda: app.session.held)  # the worker says its loop waits in the pause
        await pilot.pause(0.2)  # the events sent before it are drawn
        held = monitor.steps_done
        assert 0 < held < 10 * monitor.started.steps_per_epoch and "paused" in monitor.status_parts()[0]
        await pilot.pause(0.5)
        assert monitor.steps_done == held and app.training
        app.action_pause()
        await wait_for(pilot, app.session.finished.is_set)
        assert app.session.summary["status"] in ("completed", "early_stopped")
        assert monitor.steps_done > held and app.session.summary["epochs_run"] >= 1

    in_app(tmp_path, scenario)


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


def test_the_log_follows_new_lines_and_scrolls_back(tmp_path):
    async def scenario(app, pilot):
        log = app.query_one(TailLog)
        for i in range(60):
            log.write(f"line {i}")
        await pilot.pause()
        height = log.size.height
        shown = [log.render_line(y).text.strip() for y in range(height)]
        assert shown[-1] == "line 59" and shown[0] == f"line {60 - height}"
        log.scroll_back(5)
        log.write("line 60")  # a new line does not move a view scrolled back
        shown = [log.render_line(y).text.strip() for y in range(height)]
        assert shown[-2] == f"line {59 - 5}" and "6 newer lines" in shown[-1]
        log.action_follow()
        assert log.render_line(height - 1).text.strip() == "line 60"
        log.write("x" * 300)  # long lines wrap instead of being cut
        assert log.render_line(height - 1).text.strip().startswith("x")
        wrapped = -(-300 // log.size.width)
        assert wrapped > 1 and log.render_line(height - 1 - wrapped).text.strip() == "line 60"

    in_app(tmp_path, scenario, (120, 40))


def test_a_small_terminal_gives_the_curves_the_room_while_a_run_trains(tmp_path):
    from tui_trainer.tui.widgets.live_view import LiveView

    async def scenario(app, pilot):
        left, live = app.query_one("#left"), app.query_one(LiveView)
        assert left.display and app.screen.has_class("-narrow")
        before = live.size.width
        app.query_one(SettingsPanel).set_value("train.epochs", 200)  # still training when looked at: a worker is fast
        app.action_start()
        await wait_for(pilot, lambda: app.query_one(Monitor).steps_done > 0)
        await pilot.pause(0.2)
        assert app.training and not left.display and live.size.width > 2 * before  # the settings stepped aside
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)
        await wait_for(pilot, lambda: left.display)  # and came back when the run ended
        await pilot.press("f")  # hidden by hand, at any size
        assert not left.display
        await pilot.press("f")
        assert left.display

    in_app(tmp_path, scenario, (60, 20))


def test_the_explanation_scrolls_instead_of_cutting_its_text(tmp_path):
    from tui_trainer.tui.explain import EXPLAIN

    async def scenario(app, pilot):
        box = app.query_one("#explain-box")
        shown = str(app.query_one("#explain", Static).render())
        assert shown.endswith(EXPLAIN["train"])  # the whole text, to its last word
        assert box.max_scroll_y > 0  # taller than its box at 80x24: it scrolls
        box.scroll_end(animate=False)
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y

    in_app(tmp_path, scenario, (80, 24))


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


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA GPU is there: the run would start")


def test_a_run_that_cannot_start_says_why_once_and_leaves_nothing(tmp_path):
    from tui_trainer.tui.widgets.tail_log import TailLog

    preset = tmp_path / "on-cuda.toml"
    preset.write_text('name = "on-cuda"\n[train]\ndevice = "cuda"\nepochs = 1\n')

    async def scenario(app, pilot):
        app.action_start()
        await wait_for(pilot, lambda: app.session.finished.is_set())
        await pilot.pause(0.2)
        said = [line for line in app.query_one(TailLog).plain_lines if "CUDA" in line]
        assert len(said) == 1 and said[0].startswith("the run failed: train.device: 'cuda' was asked for")
        assert not app.busy and not app.query_one(SettingsPanel).disabled
        assert not (tmp_path / "runs").exists()

    in_app(tmp_path, scenario, preset=str(preset))


def test_g_samples_text_from_a_language_model_while_it_trains(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400)
    preset = tmp_path / "tiny-text.toml"
    preset.write_text(f'name = "tiny-text"\n[data]\ndataset = "text"\npath = "{corpus}"\nseq_len '
                      '= 16\n[model]\nkind = "lstm"\n[model.lstm]\nhidden_size = 32\nnum_layers = 1\nembedding_dim = '
                      '16\n[train]\nepochs = 40\nbatch_size = 8\n[sample]\nlength = 60\nevery_epoch = false\n')

    async def scenario(app, pilot):
        from tui_trainer.tui.widgets.sample_panel import SamplePanel

        panel = app.query_one(SamplePanel)
        app.action_start()
        await wait_for(pilot, lambda: app.query_one(Monitor).steps_done > 0)
        assert not panel.display  # hidden until the first sample
        await pilot.press("g")
        await wait_for(pilot, lambda: panel.last is not None)
        assert panel.display and panel.last.trigger == "request" and len(panel.last.text) == 61
        assert "sample after step" in str(panel.render())
        assert "tok/s" in " ".join(app.query_one(Monitor).status_parts())
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)

    in_app(tmp_path, scenario, preset=str(preset))


def test_g_on_a_classifier_says_what_it_is_for(tmp_path):
    async def scenario(app, pilot):
        app.query_one(SettingsPanel).set_value("train.epochs", 50)
        app.action_start()
        await wait_for(pilot, lambda: app.query_one(Monitor).steps_done > 0)
        await pilot.press("g")
        await wait_for(pilot,
                       lambda: "g samples text from a language model" in "\n".join(app.query_one(TailLog).plain_lines))
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)

    in_app(tmp_path, scenario)


def test_l_runs_the_lr_finder_and_v_applies_its_valley_to_train_lr(tmp_path, mnist1d):
    from tui_trainer.tui.screens.lr_find import LRCurve, LRFindScreen

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.torch_info is not None)
        before = app.query_one(SettingsPanel).config.train.lr
        app.action_lr_find()
        await wait_for(pilot, lambda: isinstance(app.screen, LRFindScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.result is not None or screen.failure, timeout=120)
        await pilot.pause()
        assert not screen.failure and screen.result.valley is not None
        drawn = str(screen.query_one(LRCurve).render())
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in drawn) and "v" in drawn.splitlines()[-2]  # the valley's mark
        assert "valley" in str(screen.query_one("#lr-text").render())
        await pilot.press("v")
        await wait_for(pilot, lambda: not isinstance(app.screen, LRFindScreen))
        settings = app.query_one(SettingsPanel)
        await wait_for(pilot, lambda: settings.config.train.lr != before)
        assert settings.config.train.lr == pytest.approx(screen.result.valley, rel=1e-2)
        assert not list((tmp_path / "runs").glob("*"))  # no run was made

    in_app(tmp_path, scenario, (120, 40))


def test_keys_steer_the_run_that_trains(tmp_path):
    import json

    async def scenario(app, pilot):
        await start_training(app, pilot, 20)
        app.set_focus(None)  # keys go to the app, not to a settings field
        await pilot.press("minus", "c", "right_square_bracket")
        await wait_for(pilot, lambda: any("patience 9" in line for line in app.query_one(TailLog).plain_lines),
                       timeout=60)
        app.action_stop()
        await wait_for(pilot, app.session.finished.is_set)
        events = [json.loads(line) for line in (Path(app.session.run_dir) / "metrics.jsonl").read_text().splitlines()]
        changes = [e["changes"] for e in events if e["event"] == "intervention"]
        assert changes == [{"lr_scale": 0.5}, {"clip": "off"}, {"patience": 9}] and all(
            e["source"] == "app" for e in events if e["event"] == "intervention")

    in_app(tmp_path, scenario, (120, 40))


def test_the_panel_reads_a_list_setting_as_its_items_type():
    from tui_trainer.tui.widgets.settings_panel import _field, _parse

    assert _parse(_field("tricks.lr_schedule.milestones")[0], "0.5, 0.75") == [0.5, 0.75]
    assert _parse(_field("model.resnet.widths")[0], "[16, 32, 64]") == [16, 32, 64]
    with pytest.raises(ValueError, match="expected numbers separated by commas"):
        _parse(_field("tricks.lr_schedule.milestones")[0], "0.5, half")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_no_setting_label_runs_into_its_value(tmp_path, size):
    """At 80x24 'warm-up steps' met its value ('warm-up steps0'): every label of the panel ends
    before its value begins, with a column between them, and shows its whole text."""
    async def scenario(app, pilot):
        rows = [row for row in app.query(".row") if row.display]  # rows of settings this data reads
        assert len(rows) > 20
        for row in rows:
            label, value = row.children[0], row.children[1]
            text = str(label.render())
            left, right = label.virtual_region, value.virtual_region  # where they sit, scrolled into view or not
            assert left.right < right.x or not text, (text, left, right)
            assert len(text) <= label.size.width, (text, label.size)

    in_app(tmp_path, scenario, size=size)


def test_the_whole_footer_shows_at_80_columns(tmp_path):
    """At 80x24 the footer was cut ('b La▏'): every key of the main screen and of the Runs view
    shows whole."""
    from textual.widgets import Footer

    async def scenario(app, pilot):
        for view in ("main", "runs"):
            if view == "runs":
                await pilot.press("r")
                await pilot.pause(0.3)
            keys = [key for key in app.screen.query_one(Footer).children if key.display]
            assert len(keys) >= 8, view
            assert all(key.region.width > 0 for key in keys), view  # none pushed out of sight
            assert max(key.region.right for key in keys) <= 80, view

    in_app(tmp_path, scenario, size=(80, 24))
