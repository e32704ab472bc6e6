"""Pictures of the app's screens (pytest-textual-snapshot), at 80x24 and 120x40: the main
screen before a run and during one, and the Runs view. Deterministic: the runs are made-up
events written by the test, so no clock or speed of this machine is in the picture.

    pytest tests/test_snapshots.py --snapshot-update   # after an intended change; look at the SVGs
"""

import pytest
from helpers import make_config, synthetic_events, write_run

from tui_trainer.tui import TrainerApp
from tui_trainer.tui.widgets.monitor import Monitor
from tui_trainer.tui.widgets.settings_panel import SettingsPanel

pytestmark = pytest.mark.usefixtures("mnist1d")
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def same_machine_everywhere(monkeypatch):
    """The picture must not depend on the machine: a CPU device, and mixed precision
    available (on a CPU without bf16 the switch would show its reason, lengthening the panel)."""
    import torch

    from tui_trainer.engine import precision

    monkeypatch.setattr(precision, "resolve_device", lambda name: torch.device("cpu"))
    monkeypatch.setattr(precision, "why_not_here", lambda config: None)


async def settled(pilot):
    """torch loaded (the info panel), every settings group mounted."""
    app = pilot.app
    while app.torch_info is None or not app.query_one(SettingsPanel).ready:
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def app_for(tmp_path):
    return TrainerApp("cnn-mnist1d", runs_dir=tmp_path / "runs", threads=1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_before_a_run(snap_compare, tmp_path, size):
    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_during_a_run(snap_compare, tmp_path, size):
    async def run_before(pilot):
        await settled(pilot)
        monitor = pilot.app.query_one(Monitor)
        monitor.feed(synthetic_events(epochs=8, done=5, run_dir="runs/20260101-120000-cnn-mnist1d"))
        monitor.redraw(force=True)
        await pilot.pause(0.1)

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_view_with_two_runs_overlaid(snap_compare, tmp_path, size):
    runs = tmp_path / "runs"
    write_run(runs, "20260101-120000-alpha", make_config({"name": "alpha"}), synthetic_events("alpha"))
    write_run(runs, "20260101-120500-beta", make_config({"name": "beta", "train.lr": 0.01}),
              synthetic_events("beta", lr=0.01, epochs=5))

    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("r")
        await pilot.pause(0.2)
        await pilot.press("space", "down", "space")
        await pilot.pause(0.2)

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=run_before)
