"""A preset of the user's own code in the app: nothing of it runs until the app has asked (once per
file, its hash kept), and the model tricks the factory cannot take are greyed out with the reason."""

from __future__ import annotations

import asyncio
import json

from app_pilot import make_app, settings_ready, wait_for
from textual.widgets import Checkbox, Static

from tui_trainer.tui.screens.trust import TrustScreen
from tui_trainer.tui.widgets.info_panel import InfoPanel
from tui_trainer.tui.widgets.setting_keys import widget_id
from tui_trainer.tui.widgets.settings_panel import SettingsPanel
from tui_trainer.tui.widgets.tail_log import TailLog
from tui_trainer.usercode.trust import store_path

MODEL = '''
from torch import nn

def plain(spec, hidden: int = 8):  # takes no batchnorm and no dropout argument
    return nn.Sequential(nn.Flatten(), nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, spec.num_classes))

def points(n: int = 200):
    import numpy as np
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return {"x": (rng.normal(0, 0.3, (n, 2)) + y[:, None]).astype("float32"), "y": y}
'''

PRESET = '''
name = "own"
[data]
dataset = "python"
[data.python]
loader = "code.py:points"
[model]
kind = "python"
[model.python]
factory = "code.py:plain"
[train]
epochs = 2
threads = 1
batch_size = 32
'''


def test_the_app_asks_before_running_a_presets_code_and_greys_out_what_the_model_cannot_take(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "code.py").write_text(MODEL)
    (tmp_path / "own.toml").write_text(PRESET)

    async def main():
        app = make_app(tmp_path, str(tmp_path / "own.toml"))
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            info = app.query_one(InfoPanel)
            await wait_for(pilot, lambda: "not trusted yet" in str(info.render()))
            assert f"{tmp_path / 'code.py'}:plain" in str(info.render())  # said, and nothing of it imported
            app.action_start()
            await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen) and app.screen.query("#trust-text"))
            assert f"{tmp_path / 'code.py'}:points" in str(app.screen.query_one("#trust-text", Static).render())
            await pilot.press("n")  # no: nothing runs, nothing is kept
            await wait_for(pilot, lambda: not isinstance(app.screen, TrustScreen))
            assert app.session is None and not store_path().exists()
            app.action_start()
            await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen) and app.screen.query("#trust-text"))
            await pilot.press("y")  # yes: the files' hashes are kept, the model is read, and the run starts
            await wait_for(pilot, lambda: app.session is not None and app.session.finished.is_set())
            assert app.session.failure is None and app.session.summary["status"] == "completed"
            kept = json.loads(store_path().read_text())
            assert str(tmp_path / "code.py") in kept
            for trick in ("batchnorm", "dropout"):  # greyed out, switched off, with the reason under it
                box = app.query_one(f"#{widget_id(f'tricks.{trick}.enabled')}", Checkbox)
                assert box.disabled and not box.value
                assert f"takes no {trick} argument" in str(app.query_one(f"#reason-{trick}", Static).render())

    asyncio.run(main())


def test_an_example_of_your_own_trains_in_the_app_and_steers_as_a_built_in_model(tmp_path, monkeypatch):
    from helpers import REPO
    from textual.widgets import Checkbox

    from tui_trainer.tui.widgets.monitor import Monitor

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TUI_TRAINER_TRUST", "1")  # said yes to, as --yes says it (the worker inherits it)

    async def main():
        app = make_app(tmp_path, str(REPO / "examples" / "moons" / "moons-mlp.toml"))
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            info = app.query_one(InfoPanel)
            await wait_for(pilot, lambda: "params" in str(info.render()))
            assert "PYTHON" in str(info.render()) and "Linear×3" in str(info.render())  # its layers and size
            assert not app.query_one(f"#{widget_id('tricks.batchnorm.enabled')}", Checkbox).disabled  # it takes it
            app.query_one(SettingsPanel).set_value("train.epochs", 2000)  # long enough to be stopped under load
            app.query_one(SettingsPanel).set_value("tricks.early_stopping.enabled", False)
            app.action_start()
            await wait_for(pilot, lambda: app.query_one(Monitor).steps_done > 0)
            app.set_focus(None)
            await pilot.press("minus")  # LR x0.5 while it trains, as on any model
            await wait_for(pilot, lambda: any("lr × 0.5" in line for line in app.query_one(TailLog).plain_lines),
                           timeout=30)
            app.action_stop()
            await wait_for(pilot, lambda: app.session.finished.is_set())
            assert app.session.summary["status"] == "stopped" and "model.python.factory" in app.session.summary["code"]

    asyncio.run(main())
