"""The app's main screen running a run, driven by a Pilot: start, pause and stop, a run that
cannot start, the keys that act on a run (samples, steering), the LR finder. The settings panel
is in test_tui_settings.py, what fits on the screen in test_tui_layout.py, the Runs view in
test_tui_runs.py."""

from pathlib import Path

import pytest
from app_pilot import in_app, settle, start_training, wait_for

from tui_trainer.tui.widgets.live_view import LiveView
from tui_trainer.tui.widgets.monitor import Monitor
from tui_trainer.tui.widgets.settings_panel import SettingsPanel
from tui_trainer.tui.widgets.tail_log import TailLog

pytestmark = pytest.mark.usefixtures("mnist1d")


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


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA GPU is there: the run would start")


def test_a_run_that_cannot_start_says_why_once_and_leaves_nothing(tmp_path):
    from tui_trainer.tui.widgets.tail_log import TailLog

    preset = tmp_path / "on-cuda.toml"
    preset.write_text('name = "on-cuda"\n[train]\ndevice = "cuda"\nepochs = 1\n')

    async def scenario(app, pilot):
        app.action_start()
        await wait_for(pilot, lambda: app.session.finished.is_set())
        await settle(pilot, lambda: any("CUDA" in line for line in app.query_one(TailLog).plain_lines))
        await pilot.pause(0.2)  # a second line, if one were sent, would be drawn by now
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
