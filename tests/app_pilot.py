"""Driving the app in tests: a Pilot, and conditions awaited by polling (pilot.press() waits
for the whole app to go idle, which takes seconds while a run is busy)."""

import asyncio
import time

from tui_trainer.tui import TrainerApp
from tui_trainer.tui.widgets.setting_keys import widget_id
from tui_trainer.tui.widgets.settings_panel import SettingsPanel


async def wait_for(pilot, condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def settle(pilot, condition, timeout=20.0):
    """Wait for ``condition`` (what the screen shows a moment later under load), without failing: the
    assertions after it say what is wrong when it never comes."""
    try:
        await wait_for(pilot, condition, timeout)
    except AssertionError:
        pass


async def settings_ready(pilot):
    """The settings groups after the training basics mount just after the first paint, and are filled in after
    the next refresh (under load, later than they mount: a value set before then would not count as an edit)."""
    await wait_for(pilot, lambda: pilot.app.query_one(SettingsPanel).settled)


async def start_training(app, pilot, epochs, after_steps=0):
    """Start a run of ``epochs`` epochs and wait until it has trained more than ``after_steps`` steps."""
    from tui_trainer.tui.widgets.monitor import Monitor

    app.query_one(SettingsPanel).set_value("train.epochs", epochs)
    app.action_start()
    await wait_for(pilot, lambda: app.query_one(Monitor).steps_done > after_steps)


def widget(app, key):
    return app.query_one(f"#{widget_id(key)}")


def make_app(tmp_path, preset="cnn-mnist1d"):
    return TrainerApp(preset, runs_dir=tmp_path / "runs", threads=1)


def in_app(tmp_path, scenario, size=(80, 24), preset="cnn-mnist1d"):
    """Run ``scenario(app, pilot)`` in the app on ``preset``, once its settings are all mounted."""

    async def main():
        app = make_app(tmp_path, preset)
        async with app.run_test(size=size) as pilot:
            await settings_ready(pilot)
            await scenario(app, pilot)

    asyncio.run(main())
