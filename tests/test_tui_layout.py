"""What fits on the app's screen, driven by a Pilot: the log's scrolling, the curves' room in a
small terminal, the explanation's scrolling, every setting's label beside its value, the whole
footer at 80 columns."""

import pytest
from app_pilot import in_app, settle, wait_for
from textual.widgets import Static

from tui_trainer.tui.widgets.monitor import Monitor
from tui_trainer.tui.widgets.settings_panel import SettingsPanel
from tui_trainer.tui.widgets.tail_log import TailLog

pytestmark = pytest.mark.usefixtures("mnist1d")


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
        await settle(pilot, lambda: not left.display and live.size.width > 2 * before)
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
        def shown():
            return [key for key in app.screen.query_one(Footer).children if key.display]

        for view in ("main", "runs"):
            if view == "runs":
                await pilot.press("r")
                await pilot.pause(0.3)
            # the footer lays its keys out after the screen's first paint: under load, a moment later
            await settle(pilot, lambda: len(shown()) >= 8 and all(key.region.width > 0 for key in shown()))
            keys = shown()
            assert len(keys) >= 8, view
            assert all(key.region.width > 0 for key in keys), view  # none pushed out of sight
            assert max(key.region.right for key in keys) <= 80, view

    in_app(tmp_path, scenario, size=(80, 24))
