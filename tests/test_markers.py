"""The marker row under the live curves (app and watch): where each event lands, collisions,
resumes, plateau's cuts, the legend; and the schedule's planned turns it is given."""

from helpers import make_config

from tui_trainer.engine.events import (
    CheckpointSaved,
    EarlyStoppingState,
    EpochEnded,
    Intervention,
    RunStarted,
    StepsSkipped,
    StepStats,
)
from tui_trainer.engine.schedule import milestones
from tui_trainer.tui.markers import Markers


def started(start_step=0, **kw):
    base = dict(preset="p", run_dir="runs/x", device="cpu", precision="fp32", threads=1, parameters=1, model=[],
                train_size=1, val_size=1, test_size=1, batch_size=1, steps_per_epoch=20, epochs=4,
                start_epoch=start_step // 20, tricks=[], clip_threshold=1.0, patience=None, start_step=start_step)
    return RunStarted(**{**base, **kw})


def epoch(markers, number, norms, improved, clipped=None, lr=0.1):
    """Feed one 20-step epoch (in two batches of stats) and its end."""
    first = (number - 1) * 20
    for part in (norms[:10], norms[10:]):
        markers.note(StepStats(number - 1, first, first % 20 + len(part), [1.0] * len(part), part, [lr] * len(part),
                               1.0))
        first += len(part)
    markers.note(EpochEnded(number, 1.0, 1.0, None, lr, 1.0, 1.0, clipped_steps=clipped, steps=20))
    markers.note(EarlyStoppingState(number, False, "val_loss", 1.0, 1.0, number, 0, 3, improved))
    markers.note(CheckpointSaved(number, "last", "last.pt"))


def test_each_event_lands_on_the_column_of_its_step():
    m = Markers()
    m.note(started(lr_marks=[[10, "warm-up ends"]]), fresh=True)
    epoch(m, 1, [2.0] * 5 + [0.5] * 15, improved=True, clipped=5)  # 25 % of the steps clipped
    m.note(StepsSkipped(1, [25], "grad_scaler", 1))
    m.note(Intervention(30, 1, {"clip": "off"}))
    epoch(m, 2, [2.0] * 20, improved=False, clipped=0)  # clipping is off: nothing cut
    row = m.row(40)  # 40 steps on 40 columns: step s on column s - 1
    chars = "".join(c for c, _ in row)
    assert chars[9] == "┊" and chars[19] == "★" and chars[24] == "✕" and chars[29] == "◆" and chars[39] == "▪"
    assert set(chars[:9] + chars[10:19]) == {"▒"}  # epoch 1's share, 25-50 %, behind its marks
    assert set(chars[20:24] + chars[25:29] + chars[30:39]) == {" "}  # epoch 2 clipped nothing
    assert row[29] == ("◆", "intervention") and row[0] == ("▒", "clip")
    assert m.label() == "clipped 0%"  # the last epoch's share
    assert [kind for _, kind, _ in m.legend()] == ["best", "lr", "saved", "intervention", "skipped", "clip"]
    half = "".join(c for c, _ in m.row(20))  # two steps a column: the same marks, at half the columns
    assert half[4] == "┊" and half[9] == "★" and half[12] == "✕" and half[14] == "◆" and half[19] == "▪"


def test_marks_at_one_step_go_side_by_side_and_a_save_gives_way():
    m = Markers()
    m.note(started(lr_marks=[[20, "warm-up ends"]]), fresh=True)
    epoch(m, 1, [0.5] * 20, improved=True, clipped=0)  # best, the warm-up's end and last.pt at step 20
    chars = "".join(c for c, _ in m.row(20))
    assert chars[18:20] == "┊★" and "▪" not in chars
    assert m.label() == "clipped 0%"


def test_the_running_epochs_share_is_estimated_from_the_norms_until_the_engine_counts_it():
    m = Markers()
    m.note(started(), fresh=True)
    m.note(StepStats(0, 0, 10, [1.0] * 10, [2.0] * 8 + [0.5] * 2, [0.1] * 10, 1.0))
    assert m.label() == "clipped 80%"
    assert "".join(c for c, _ in m.row(10)) == "█" * 10
    m.note(Intervention(10, 0, {"clip": 3.0}))  # a looser threshold: the later steps are measured against it
    m.note(StepStats(0, 10, 20, [1.0] * 10, [2.0] * 10, [0.1] * 10, 1.0))
    assert m.label() == "clipped 40%"


def test_value_clipping_shades_nothing_and_a_run_without_clipping_has_no_clip_legend():
    m = Markers()
    m.note(started(clip_mode="value", run_dir=None), fresh=True)
    epoch(m, 1, [5.0] * 20, improved=True)
    assert m.label() == "markers"
    # no shading: by value, |g| tells nothing of what was cut
    assert "".join(c for c, _ in m.row(20)) == " " * 19 + "★"
    assert [kind for _, kind, _ in m.legend()] == ["best", "intervention", "skipped"]


def test_a_resume_in_the_same_file_keeps_the_marks_and_a_fresh_view_starts_at_the_checkpoint():
    m = Markers()
    m.note(started(), fresh=True)
    epoch(m, 1, [0.5] * 20, improved=True)
    m.note(started(start_step=20))  # watch: the resumed run appends to the same metrics.jsonl
    epoch(m, 2, [0.5] * 20, improved=False)
    chars = "".join(c for c, _ in m.row(40))
    assert chars[19] == "★" and chars[39] == "▪"
    fresh = Markers()  # the app: a resumed run's view begins at its checkpoint
    fresh.note(started(start_step=20), fresh=True)
    fresh.note(Intervention(20, 1, {"lr_scale": 0.5}, "replay"))  # replayed at the checkpoint's step: before the curves
    epoch(fresh, 2, [0.5] * 20, improved=True)
    chars = "".join(c for c, _ in fresh.row(20))
    assert chars == " " * 19 + "★"


def test_plateau_cuts_are_marked_where_an_epochs_lr_falls():
    m = Markers()
    m.note(started(schedule="plateau", lr_marks=[]), fresh=True)
    epoch(m, 1, [0.5] * 20, improved=True, lr=0.1)
    epoch(m, 2, [0.5] * 20, improved=False, lr=0.1)
    epoch(m, 3, [0.5] * 20, improved=False, lr=0.05)
    lr_marks = [mark for mark in m.marks if mark.kind == "lr"]
    assert [(mark.step, mark.text) for mark in lr_marks] == [(60, "LR ×0.5")]
    assert "lr" in [kind for _, kind, _ in m.legend()]


def test_the_legend_takes_short_words_when_narrow():
    m = Markers()
    m.note(started(lr_marks=[[5, "warm-up ends"]]), fresh=True)
    assert [word for _, _, word in m.legend(80)] == ["best", "LR turn", "last.pt", "nudge", "skipped", "clipped share"]
    assert [word for _, _, word in m.legend(40)] == ["best", "LR", "saved", "nudge", "skip", "clipped"]


def test_milestones_are_the_schedules_planned_turns():
    def turns(**schedule):
        cfg = make_config({f"tricks.lr_schedule.{k}": v for k, v in {"enabled": True, **schedule}.items()})
        return milestones(cfg.tricks.lr_schedule, 10, 20)

    assert turns(kind="cosine", warmup_epochs=1.5) == [(30, "warm-up ends")]
    assert turns(kind="cosine", warmup_steps=7, warmup_epochs=2.0) == [(7, "warm-up ends")]
    assert turns(kind="step", step_size=4, gamma=0.5) == [(80, "LR ×0.5"), (160, "LR ×0.5")]
    assert turns(kind="onecycle", pct_start=0.25) == [(50, "LR peak")]
    assert turns(kind="plateau") == []
    assert milestones(make_config({"tricks.lr_schedule.enabled": False}).tricks.lr_schedule, 10, 20) == []
