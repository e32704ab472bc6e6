"""The live view's arithmetic: bounded whole-run series, their sparkline rows, and the status line's pace."""

import math

from tui_trainer.tui.curves import Series, columns, spark_rows


def test_a_series_keeps_the_whole_run_in_bounded_memory():
    series = Series("mean", capacity=64)
    values = [float(i) for i in range(1000)]
    series.extend(values)
    assert series.count == 1000
    assert len(series) <= 64 and series.stride == 16
    points = series.values()
    # each point is the mean of `stride` consecutive values (the last, of those pending)
    assert points[0] == sum(values[:16]) / 16
    assert points[-1] == sum(values[992:]) / 8
    assert points == sorted(points)


def test_max_series_keep_spikes_and_non_finite_values_show():
    series = Series("max", capacity=16)
    values = [1.0] * 200
    values[77] = 50.0
    series.extend(values)
    assert max(series.values()) == 50.0
    series.extend([math.nan] + [1.0] * 3)
    assert any(math.isnan(v) for v in series.values())
    mean = Series("mean", capacity=16)
    mean.extend([1.0, math.inf, 1.0, 1.0] * 10)
    assert any(math.isinf(v) for v in mean.values())


def test_columns_group_or_stretch_to_the_width():
    assert columns([1.0, 2.0, 3.0, 4.0], 2, max) == [2.0, 4.0]
    assert columns([1.0, 2.0], 4, max) == [1.0, 1.0, 2.0, 2.0]
    assert columns([], 10, max) == []


def test_spark_rows_scale_to_the_range_with_an_optional_log_scale():
    rows, lo, hi, log = spark_rows([1.0, 2.0, 3.0, 4.0], 2)
    assert (lo, hi, log) == (1.0, 4.0, False)
    assert rows[1][0] == "▁" and rows[0][0] == " "  # the lowest point is a low bar, not nothing
    assert rows[0][-1] == "█" and rows[1][-1] == "█"  # the highest fills both rows
    _, _, _, log = spark_rows([0.01, 0.1, 1.0], 1, log=True)
    assert log
    linear, _, _, _ = spark_rows([0.01, 0.1, 1.0], 1)
    logged, _, _, _ = spark_rows([0.01, 0.1, 1.0], 1, log=True)
    assert linear[0][1] < logged[0][1]  # 0.1 sits halfway on a log scale, low on a linear one
    _, _, _, log = spark_rows([0.0, 1.0], 1, log=True)
    assert not log  # a zero cannot go on a log scale
    rows, lo, hi, _ = spark_rows([1.0, math.nan, 2.0], 2)
    assert rows[0][1] == "!" and rows[1][1] == "!" and (lo, hi) == (1.0, 2.0)


def test_each_consumer_shows_every_event():
    from tui_trainer.cli.reporter import ProgressReporter
    from tui_trainer.engine.events import unhandled
    from tui_trainer.tui.widgets.monitor import Monitor

    assert unhandled(ProgressReporter) == ["checkpoint_saved"]  # a line per epoch's last.pt would bury the log
    assert unhandled(Monitor) == []  # checkpoints: on the marker row


def test_range_label_names_the_drawn_range_and_its_scale():
    from tui_trainer.tui.curves import range_label

    assert range_label(0.0043, 2.13, True) == "0.0043–2.1 log"
    assert range_label(0.0, 8.0, False) == "0–8"
    assert range_label(None, None, False) == ""


def test_braille_plot_draws_each_run_in_its_own_colour_on_shared_axes():
    from tui_trainer.tui.braille import braille_plot

    rising = [(float(x), float(x)) for x in range(11)]
    falling = [(float(x), 10.0 - x) for x in range(11)]
    grid, ranges = braille_plot([rising, falling], width=10, height=4, log=False)
    assert ranges == (0.0, 10.0, 0.0, 10.0)
    assert len(grid) == 4 and all(len(row) == 10 for row in grid)
    # rising starts at the bottom left, falling at the top left; both are drawn
    assert grid[-1][0][0] and grid[0][0][0]
    assert {index for row in grid for bits, index in row if bits} == {0, 1}
    _, ranges = braille_plot([[(1.0, 0.1), (2.0, 10.0), (3.0, float("nan"))]], 10, 2, log=True)
    assert ranges[2:] == (-1.0, 1.0)  # log10 of the finite values
    assert braille_plot([[(1.0, float("nan"))]], 10, 2, log=False)[1] is None  # nothing finite to draw


def test_the_status_lines_rate_is_the_epochs_and_its_eta_counts_whole_epochs():
    """A run whose epochs each take 1.0 s of wall time, 0.6 s of it training: a fake clock, carried
    by the events as the engine writes them."""
    from helpers import synthetic_events

    from tui_trainer.engine.events import EpochEnded, RunStarted, StepStats
    from tui_trainer.runs.pace import Pace

    started = next(e for e in synthetic_events(epochs=1) if isinstance(e, RunStarted))
    started = RunStarted(**{**vars(started), "epochs": 100, "steps_per_epoch": 10, "batch_size": 32})
    pace = Pace()
    pace.show_run_started(started)
    assert pace.remaining() is None and pace.rate == 0.0  # nothing measured yet
    for epoch in range(5):
        # two fetches of 5 steps: 0.2 s and 0.4 s (one alone would say 800/s or 400/s)
        pace.show_step_stats(StepStats(epoch, epoch * 10, 5, [1.0] * 5, [1.0] * 5, [0.1] * 5, 160 / 0.2, 0.2))
        pace.show_step_stats(StepStats(epoch, epoch * 10 + 5, 10, [1.0] * 5, [1.0] * 5, [0.1] * 5, 160 / 0.4, 0.4))
        assert math.isclose(pace.rate, 320 / 0.6)  # the epoch's training rate, as its epoch line gives it
        if epoch == 0:  # before any epoch ends: the training rate
            assert math.isclose(pace.remaining(), 99 * (10 * 32) / (320 / 0.6))
        pace.show_epoch_ended(EpochEnded(epoch + 1, 1.0, 1.0, None, 0.1, 0.8, 320 / 0.6, wall_seconds=epoch + 1.0))
    assert math.isclose(pace.remaining(), 95 * 1.0)  # whole epochs of 1.0 s, validation and checkpoints in
    pace.show_step_stats(StepStats(5, 50, 5, [1.0] * 5, [1.0] * 5, [0.1] * 5, 160 / 0.3, 0.3))
    real = 94.5  # half of the sixth epoch done, at 1.0 s an epoch
    assert abs(pace.remaining() - real) <= 0.15 * real and math.isclose(pace.rate, 160 / 0.3)


def test_a_steered_step_is_numbered_as_the_status_line_numbers_steps():
    """The status line counts steps within the epoch (step 13/29); the log of a change said the
    global step (step 100): now it says both, the epoch's first."""
    import io

    from helpers import synthetic_events
    from rich.console import Console

    from tui_trainer.cli.reporter import ProgressReporter
    from tui_trainer.display import step_place

    assert step_place(100, 3, 29) == "epoch 4, step 13/29 (100 in all)"
    assert step_place(955, 2, 450) == "epoch 3, step 55/450 (955 in all)"
    assert step_place(955, 2, 0) == "step 955"  # no epoch length: the global count alone
    out = io.StringIO()
    reporter = ProgressReporter(Console(file=out, width=200, force_terminal=False))
    for event in synthetic_events(epochs=6):  # halves the LR at step 100, in the fourth epoch of 29 steps
        reporter(event)
    reporter.close()
    assert "epoch 4, step 13/29 (100 in all): lr × 0.5 (app)" in out.getvalue()
