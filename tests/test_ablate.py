"""Ablation: the variants, paired differences over seeds, and the CLI end to end."""

import json
import subprocess
import sys

import pytest
from helpers import make_config

from tui_trainer.experiments import ablate
from tui_trainer.errors import UserError
from tui_trainer.experiments.trials import Trials


def test_plan_switches_one_trick_at_a_time():
    config = make_config({"tricks.mixed_precision.enabled": False})
    plan = ablate.plan(config, ["batchnorm", "mixed_precision"], 3, check=lambda c: None)
    assert [v.name for v in plan.variants] == ["baseline", "-batchnorm", "+mixed_precision"]
    off = plan.variants[1].config
    assert not off.tricks.batchnorm.enabled and off.tricks.dropout == config.tricks.dropout
    assert plan.variants[2].config.tricks.mixed_precision.enabled
    assert plan.seeds == [0, 1, 2]
    refused = ablate.plan(config, ["mixed_precision"], 1,
                          check=lambda c: "no bf16 here" if c.tricks.mixed_precision.enabled else None)
    assert [v.name for v in refused.variants] == ["baseline"]
    assert refused.not_run == [("mixed_precision", "no bf16 here")]
    with pytest.raises(UserError, match="unknown trick 'batchnrom'; did you mean 'batchnorm'"):
        ablate.plan(config, ["batchnrom"], 1)
    # train's switch spelling (--lr-schedule) names the same trick
    spelt = ablate.plan(config, ["lr-schedule", "--grad-clip"], 1, check=lambda c: None)
    assert [v.name for v in spelt.variants] == ["baseline", "-lr_schedule", "-grad_clip"]


def test_differences_are_paired_by_seed(tmp_path):
    config = make_config()
    plan = ablate.plan(config, ["dropout"], 2, check=lambda c: None)
    fake = {  # (variant, seed) -> summary
        ("baseline", 0): {"best_val_loss": 0.5, "test_accuracy": 0.90, "best_epoch": 10, "wall_seconds": 10.0,
                          "status": "completed"},
        ("baseline", 1): {"best_val_loss": 0.7, "test_accuracy": 0.80, "best_epoch": 12, "wall_seconds": 12.0,
                          "status": "completed"},
        ("-dropout", 0): {"best_val_loss": 0.6, "test_accuracy": 0.88, "best_epoch": 8, "wall_seconds": 9.0,
                          "status": "completed"},
        ("-dropout", 1): {"best_val_loss": 0.9, "test_accuracy": 0.78, "best_epoch": 8, "wall_seconds": 11.0,
                          "status": "diverged"},
    }
    seen = []

    class Made(Trials):  # trials that return made-up summaries
        def map(self, jobs, folder, on_done, should_stop, poll=None):
            for key, cfg, path in jobs:
                variant = "baseline" if cfg.tricks.dropout.enabled else "-dropout"
                seen.append((variant, cfg.train.seed, cfg.name))
                on_done(key, fake[(variant, cfg.train.seed)], "trained")

    ablate.run(plan, tmp_path, Made())
    assert [s[:2] for s in seen] == [("baseline", 0), ("-dropout", 0), ("baseline", 1), ("-dropout", 1)]
    rows = {r[0]: r for r in ablate.rows(plan)}
    assert rows["baseline"][1] == "0.6000 ± 0.1414"
    assert rows["-dropout"][1] == "+0.1500 ± 0.0707"  # differences 0.1 and 0.2
    assert rows["-dropout"][2] == "-0.0200 ± 0.0000"
    assert rows["-dropout"][3] == "-3.0 ± 1.4"  # epochs to best: -2 and -4
    assert rows["-dropout"][5] == "1/2"
    saved = json.loads((plan.folder / "ablation.json").read_text())
    assert saved["results"]["-dropout"]["1"]["status"] == "diverged"


@pytest.mark.usefixtures("mnist1d")
def test_ablate_command_prints_the_table(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tui_trainer", "ablate", "cnn-mnist1d", "--tricks", "batchnorm", "--seeds", "2",
         "--epochs", "1", "--threads", "1", "--runs-dir", tmp_path / "runs"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[4/4]" in proc.stdout
    table = proc.stdout.split("----")[-1]
    assert "baseline" in table and "-batchnorm" in table and " ± " in table
    [folder] = (tmp_path / "runs").iterdir()
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert len(runs) == 4 and all((p / "summary.json").exists() for p in runs)
    listed = subprocess.run([sys.executable, "-m", "tui_trainer", "runs", "list", "--runs-dir", tmp_path / "runs"],
                            capture_output=True, text=True, timeout=120)
    assert sum(1 for line in listed.stdout.splitlines() if "cnn-mnist1d." in line) == 4  # ablation runs are listed too
