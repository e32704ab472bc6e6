"""Images as a user meets them: the CLI (one line and exit 2 for each mistake, nothing
created), the digits trained end to end, the confusion matrix, and the app's Data view."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_pilot import in_app, settle, wait_for

from tests.helpers import make_config
from tests.test_cli import _assert_user_error, cli


def test_digits_train_end_to_end_and_runs_show_the_confusion_matrix(tmp_path):
    proc = cli("train", "digits-optimized-cnn", "--epochs", "6", "--json", "--runs-dir", tmp_path / "runs",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    started = events[0]
    assert started["dataset"] == "digits" and started["input_shape"] == [1, 8, 8] and started["data_mode"] == "resident"
    summary = events[-1]["summary"]
    assert summary["test_accuracy"] > 0.8
    counts = np.array(summary["confusion"]["counts"])
    assert counts.shape == (10, 10) and counts.sum() == started["test_size"]
    assert np.trace(counts) == round(summary["test_accuracy"] * counts.sum())
    shown = cli("runs", "show", "latest", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert "confusion on the test set" in shown.stdout and "recall" in shown.stdout


@pytest.mark.parametrize("args, fragments", [
    (["--set", "data.dataset=cifar"], ["data.dataset: unknown choice 'cifar'", "did you mean 'cifar10'"]),
    (["--set", "data.dataset=image_folder"], ["data.path", "needs a path"]),
    (["--set", "data.dataset=image_folder", "--set", "data.path=NOWHERE"], ["NOWHERE does not exist"]),
    (["--set", "model.cnn.channels=[8,8,8,8,8]"], ["5 max-pools by 2 halve digits's 1×8×8 "
                                                   "samples to nothing; at most 3 fit"]),
    (["--set", "model.kind=lstm"], ['model.kind = "lstm" reads sequences', 'use model.kind = "cnn"']),
    (["--preset", "cifar10-optimized-cnn", "--no-mixed-precision"],
     ["model.cnn.input_shape: this model is built for 3×32×32 samples", "digits has 1×8×8",
      "model.cnn.input_shape = []"]),
])
def test_image_mistakes_get_one_line_exit_2_and_no_run_folder(tmp_path, args, fragments):
    preset = args[1] if args[:1] == ["--preset"] else "digits-cnn"
    args = ["--set", "data.dataset=digits", *args[2:]] if args[:1] == ["--preset"] else args
    proc = cli("train", preset, *args, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    _assert_user_error(proc, *fragments)
    assert not (tmp_path / "runs").exists()


def test_augment_on_a_sequence_dataset_is_refused_with_the_key(tmp_path):
    proc = cli("train", "cnn-mnist1d", "--augment", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    _assert_user_error(proc, "tricks.augment.enabled", "for images", "switch it off")


def test_offline_cifar10_says_which_file_to_put_where(tmp_path):
    proc = cli("train", "cifar10-optimized-cnn", "--set", "data.download=false", "--runs-dir", tmp_path / "runs",
               cwd=tmp_path, env={"TUI_TRAINER_CACHE": str(tmp_path / "cache")})
    _assert_user_error(proc, "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                       str(tmp_path / "cache" / "torchvision"))
    assert not (tmp_path / "runs").exists()


def test_the_data_command_draws_one_picture_per_class(tmp_path):
    proc = cli("data", "digits-cnn", "--width", "80", cwd=tmp_path, env={"FORCE_COLOR": "1"})  # as on a terminal
    assert proc.returncode == 0, proc.stderr
    assert "1,294 train / 144 validation / 359 test" in proc.stdout and "no horizontal flips" in proc.stdout
    assert proc.stdout.count("▀") == 10 * 16 * 8  # ten 16×16 pictures: 16 columns by 8 rows, two pixels a character
    listing = cli("presets", "list", cwd=tmp_path).stdout
    assert "cifar10-optimized-cnn" in listing and "3×32×32" in listing and "1×8×8" in listing


def test_label_smoothing_changes_the_training_loss_only():
    import torch
    import torch.nn.functional as F

    from tui_trainer.engine.task import task_for

    output, target = torch.randn(8, 10), torch.randint(0, 10, (8,))
    task = task_for("classification",
                    make_config({"tricks.label_smoothing.enabled": True, "tricks.label_smoothing.epsilon": 0.2}))
    smoothed = F.cross_entropy(output, target, label_smoothing=0.2).item()
    assert task.loss(output, target).item() == pytest.approx(smoothed)
    assert task.sums(output, target)[0].item() == pytest.approx(F.cross_entropy(output, target, reduction="sum").item())


def test_the_app_shows_the_data_view_and_the_confusion_matrix(tmp_path):
    from tui_trainer.tui.screens.data import DataScreen
    from tui_trainer.tui.widgets.tail_log import TailLog

    async def scenario(app, pilot):
        from tui_trainer.tui.widgets.live_view import LiveView
        from tui_trainer.tui.widgets.monitor import Monitor

        app.query_one(Monitor).show_loading("downloading cifar-10-python.tar.gz", 5 << 20, 10 << 20)
        await settle(pilot, lambda: "50%" in "\n".join(app.query_one(LiveView).plain_lines()))
        shown = "\n".join(app.query_one(LiveView).plain_lines())
        assert "loading data: downloading cifar-10-python.tar.gz 5.0/10.0 MB" in shown and "50%" in shown
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DataScreen) and app.screen.loaded is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.torch_info is not None)
        app.action_start()
        await wait_for(pilot, lambda: app.session is not None and app.session.finished.is_set(), timeout=120)
        await pilot.pause(0.3)
        lines = app.query_one(TailLog).plain_lines
        # beside the UI
        assert any(line.startswith("data image_folder 3×8×8") and "by 2 DataLoader workers" in line for line in lines)
        assert any("confusion on the test set" in line for line in lines)
        assert app.session.take_loading() is None  # the Data view decoded the pictures: the run found them cached
    preset = tmp_path / "quick-pictures.toml"
    from PIL import Image

    for name, color in (("red", (200, 20, 20)), ("blue", (20, 20, 200))):
        (tmp_path / "pictures" / name).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (10, 10),
                      tuple(min(255, c + 3 * i) for c in color)).save(tmp_path / "pictures" / name / f"{i}.png")
    preset.write_text('name = "quick-pictures"\n[data]\ndataset = "image_folder"\npath = '
                      f'"{tmp_path / "pictures"}"\nimage_size = 8\nmemory_budget_mb = 0.001\n[model.cnn]\nchannels = '
                      '[8]\nkernel_size = 3\nfc_hidden = 16\n[train]\nepochs = 2\n'
                      "batch_size = 8\n")
    in_app(tmp_path, scenario, (120, 40), preset=str(preset))


def test_the_cli_reports_downloads_and_decoding_as_lines_when_not_on_a_terminal():
    import io

    from tui_trainer.cli.data_progress import DataProgress

    out = io.StringIO()
    progress = DataProgress(out)
    for done in range(0, 11):
        progress("downloading cifar-10-python.tar.gz", done << 20, 10 << 20)
    progress("decoding 24 images", 24, 24)
    lines = out.getvalue().splitlines()
    assert lines[0] == "downloading cifar-10-python.tar.gz 0.0 of 10.0 MB"
    assert lines[-2] == "downloading cifar-10-python.tar.gz 10.0 of 10.0 MB" and lines[-1] == "decoding 24 images 24/24"
    assert len(lines) <= 4  # at most once a second, and the end
