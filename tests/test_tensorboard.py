"""TensorBoard: a run written as scalars live and by `runs export`, read back with TensorBoard's own reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorboard")


def scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(s.step, s.value) for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.usefixtures("mnist1d")
def test_a_run_live_and_exported_gives_the_same_tensorboard_scalars(tmp_path):
    runs, board = tmp_path / "runs", tmp_path / "tb"
    done = subprocess.run([sys.executable, "-m", "tui_trainer", "train", "cnn-mnist1d", "--epochs", "2", "--threads",
                           "1", "--json", "--runs-dir", str(runs), "--tensorboard", str(board / "live")],
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    [run] = list(runs.iterdir())
    live = scalars(board / "live" / run.name)
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [loss for e in events if e["event"] == "step_stats" for loss in e["losses"]]
    assert [step for step, _ in live["train/loss"]] == list(range(1, len(losses) + 1))
    assert [v for _, v in live["train/loss"]] == pytest.approx(losses, rel=1e-6)
    val = [e["val_loss"] for e in events if e["event"] == "epoch_ended"]
    assert [v for _, v in live["val/loss"]] == pytest.approx(val, rel=1e-6) and len(live["val/accuracy"]) == 2
    assert {"train/lr", "train/grad_norm", "early_stopping/wait", "test/accuracy", "test/loss"} <= set(live)
    summary = json.loads((run / "summary.json").read_text())
    assert live["test/accuracy"][0][1] == pytest.approx(summary["test_accuracy"], rel=1e-6)

    exported = subprocess.run([sys.executable, "-m", "tui_trainer", "runs", "export", str(run), "--tensorboard",
                               str(board / "export")],
                              capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert exported.returncode == 0 and "as TensorBoard scalars" in exported.stdout, exported.stderr
    again = scalars(next((board / "export").iterdir()))
    for tag in ("train/loss", "train/lr", "val/loss", "val/accuracy", "test/accuracy"):
        assert again[tag] == pytest.approx(live[tag]), tag
