"""The LR range test: its suggestions on a curve whose answer is known, a real sweep that leaves
the run untouched, and `tui-trainer lr-find` with -o and --apply."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from helpers import make_config

from tui_trainer.engine.lr_find import LRFind, suggest


def test_the_suggestions_on_a_curve_whose_steepest_point_is_known():
    """A loss that falls like a tanh in log10(lr), centred on 1e-3, bottoms out at 1e-1 and then blows up."""
    lrs = [10 ** (-6 + 7 * i / 99) for i in range(100)]
    losses = [2 - math.tanh(2 * (math.log10(lr) + 3)) if lr <= 0.1 else 1.0 + 30 * (math.log10(lr) + 1) ** 2
              for lr in lrs]
    result = LRFind(lrs=lrs, losses=losses, smoothed=losses)
    suggest(result)
    step = 10 ** (7 / 99)  # one grid step
    assert 1e-3 / step <= result.steepest <= 1e-3 * step
    assert "falls fastest" in result.how["steepest"]
    # the longest falling stretch runs from the first point to the bottom near 1e-1; halfway along it, in steps
    # (fastai's
    # rule, with its off-by-one), lands near the geometric middle of 1e-6 and 1e-1: below the steepest point
    assert 1e-4 <= result.valley <= 10 ** -3.2 and "halfway" in result.how["valley"]


def test_too_short_a_curve_gives_a_note_not_a_guess():
    result = LRFind(lrs=[1e-3, 1e-2, 1e-1], losses=[2.0, 1.0, math.inf], smoothed=[2.0, 1.0, math.inf])
    suggest(result)
    assert result.steepest is None and result.valley is None and "too few finite points" in result.how["note"]


def test_a_sweep_on_a_real_model_suggests_a_sane_lr_and_leaves_the_run_as_it_would_have_been(small_data):
    import torch

    from tui_trainer.engine.lr_find import lr_find
    from tui_trainer.engine.trainer import Trainer

    config = make_config({"train.epochs": 2, "train.batch_size": 32})
    reference = Trainer(config, data=small_data).run().summary
    trainer = Trainer(config, data=small_data)
    trainer.prepare()
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    rng = torch.get_rng_state()
    result = lr_find(trainer.setup, trainer.parts, 1e-6, 10.0, 60)
    assert all(torch.equal(v, trainer.model.state_dict()[k]) for k, v in weights.items())
    assert torch.equal(rng, torch.get_rng_state())
    assert 1e-5 <= result.valley <= 1e-1 and 1e-5 <= result.steepest <= 1e-1  # Adam on this CNN trains at 3e-3
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) <= 60 and result.stopped
    after = trainer.run().summary  # the run that follows is the run it would have been
    for key in ("best_val_loss", "test_loss", "test_accuracy", "steps"):
        assert after[key] == reference[key], key


@pytest.mark.usefixtures("mnist1d")
def test_lr_find_command_writes_the_plot_and_applies_the_valley_keeping_the_preset_s_comments(tmp_path, monkeypatch):
    from tui_trainer.config import load_config
    from tui_trainer.config.presets import user_preset_dir

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the user copy it writes: no other test sees it

    preset = tmp_path / "mine.toml"
    preset.write_text('name = "mine"\n# my notes\n[train]\nepochs = 3\nlr = 0.5  # too high?\nthreads = 1\n')

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "tui_trainer", "lr-find", *map(str, args)], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(), cwd=tmp_path)

    def finish(proc):
        out, err = proc.communicate(timeout=300)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    # three independent processes at once: a preset of the user's, a bundled one, a mistake
    mine = start(preset, "--steps", "30", "-o", tmp_path / "lr.png", "--apply")
    bundled = start("cnn-mnist1d", "--steps", "20", "--threads", "1", "--apply")
    bad = start("cnn-mnist1d", "--start", "1", "--end", "0.1")
    done, bundled, bad = finish(mine), finish(bundled), finish(bad)
    assert done.returncode == 0, done.stderr
    assert "valley" in done.stdout and "steepest" in done.stdout and (tmp_path / "lr.png").stat().st_size > 10_000
    text = preset.read_text()
    assert "# my notes" in text and "# too high?" in text and "lr = 0.5 " not in text
    valley = float(next(line for line in done.stdout.splitlines() if line.strip().startswith("valley")).split()[1])
    assert load_config(preset).train.lr == pytest.approx(valley, rel=1e-2)
    assert bundled.returncode == 0, bundled.stderr
    copy = user_preset_dir() / "cnn-mnist1d.toml"
    # a user copy, which now comes before the bundled one
    assert f"written to {copy}" in bundled.stdout and copy.exists()
    copy.unlink()
    assert bad.returncode == 2 and "the sweep needs 0 < start < end" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_bad_output_is_told_before_the_sweep(tmp_path, monkeypatch):
    """-o into a folder that does not exist failed after the whole sweep (5.5 s)."""
    from typer.testing import CliRunner

    from tui_trainer.cli.app import app
    from tui_trainer.engine import lr_find as engine_lr_find

    def never(*args, **kwargs):
        raise AssertionError("the sweep ran before the output was checked")

    monkeypatch.setattr(engine_lr_find, "lr_find", never)
    result = CliRunner().invoke(app, ["lr-find", "digits-cnn", "-o", str(tmp_path / "nodir" / "lr.png")])
    assert result.exit_code == 2 and "no such folder for the plot" in result.output, result.output
