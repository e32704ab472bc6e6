"""The Labs view: the labs listed, the chosen one's plan and time, a run of it with its curves
drawn from the runs' folders while they train, and its verdict at the end."""

import textwrap

from app_pilot import in_app, wait_for

TOY = """
question = "Does dropout help a tiny CNN?"
lesson = "Dropout regularises."
base = "cnn-mnist1d"
seeds = 1
[set]
"train.epochs" = 2
"model.cnn.channels" = [8]
"model.cnn.fc_hidden" = 16
[[arm]]
name = "plain"
set = { "tricks.dropout.enabled" = false }
[[arm]]
name = "dropout"
set = { "tricks.dropout.enabled" = true }
[verdict]
metric = "best_val_loss"
reference = "plain"
better = ["dropout"]
"""


def test_the_labs_view_plans_runs_and_judges_a_lab(tmp_path, monkeypatch, mnist1d):
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "toy.toml").write_text(textwrap.dedent(TOY))
    monkeypatch.chdir(tmp_path)  # ./labs: the user's own labs come first

    async def scenario(app, pilot):
        from textual.widgets import DataTable, Static

        from tui_trainer.tui.screens.labs import LabsScreen
        from tui_trainer.tui.widgets.overlay_plot import OverlayPlot

        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, LabsScreen)
        table = screen.query_one("#labs-table", DataTable)
        names = [name for name, _ in screen.labs]
        assert "batchnorm-lr" in names and "toy" in names
        assert {"deep-resnet", "trick-pipeline", "rnn-vs-cnn-gradients", "constant-lr", "early-stopping"} <= set(names)
        table.move_cursor(row=names.index("toy"))
        await pilot.pause()
        plan = str(screen.query_one("#lab-text", Static).render())
        assert "Does dropout help a tiny CNN?" in plan and "plain: tricks.dropout.enabled = False" in plan
        assert "2 runs (1 seed each), not run here yet" in plan  # a time is measured, never typed
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.job is not None and screen.job.finished.is_set(), timeout=120)
        await wait_for(pilot, lambda: "complete" in str(screen.query_one("#lab-status", Static).render()), timeout=10)
        assert "2/2 runs done, complete" in str(screen.query_one("#lab-status", Static).render())
        shown = str(screen.query_one("#lab-text", Static).render())
        assert screen.job.progress.verdict.headline in shown and "best_val_loss" in shown and "plain" in shown

        def plan_again() -> str:  # the plan again, as moving the cursor back to the lab shows it
            screen._describe()
            return str(screen.query_one("#lab-text", Static).render())

        await wait_for(pilot, lambda: "as measured here" in plan_again(), timeout=10)
        assert table.get_row("toy")[3].startswith("~0:")  # the list's time column, measured now
        assert "2 runs (1 seed each), about 0:" in plan_again()
        assert len(screen.query_one(OverlayPlot).runs) == 2  # the curves of both runs, from their folders
        assert not app.busy
        await pilot.press("escape")
        assert not isinstance(app.screen, LabsScreen)

    in_app(tmp_path, scenario, size=(140, 45))


def test_the_messages_the_app_forwards_to_its_screens_do_not_bubble_back():
    """A JobUpdated that bubbled came back to the app from the screen it was forwarded to, and was
    forwarded again, without end (the app busy at 100 % of a core while a lab or an ablation ran)."""
    from tui_trainer.tui.messages import RunsChanged, WorkerSaid
    from tui_trainer.tui.session import JobFinished, JobUpdated

    assert [m.bubble for m in (JobUpdated, JobFinished, RunsChanged, WorkerSaid)] == [False] * 4
