"""Labs: lab files and their mistakes, the verdict rules on hand-made results (a clear
difference, one that goes against the lesson, one inside the noise), and a lab end to end."""

import json
import math
import textwrap

import pytest
from helpers import follows_from_its_numbers
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.experiments.labs import LabError, lab_paths, load_lab
from tui_trainer.experiments.labs.runner import estimate
from tui_trainer.experiments.labs.stats import Stat, apart, clear
from tui_trainer.experiments.labs.verdict import judge

LAB = """
question = "Does dropout help here?"
lesson = "Dropout regularises."
base = "cnn-mnist1d"
seeds = 2
columns = ["gap"]
[set]
"train.epochs" = 2
[[arm]]
name = "plain"
set = {{ "tricks.dropout.enabled" = false }}
[[arm]]
name = "dropout"
set = {{ "tricks.dropout.enabled" = true }}
{extra}
[verdict]
{verdict}
"""


def write_lab(tmp_path, verdict='metric = "best_val_loss"\nreference = "plain"\nbetter = ["dropout"]', extra="",
              name="toy"):
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(LAB).format(verdict=verdict, extra=extra))
    return path


def results(values: dict, metric="best_val_loss", status="completed"):
    """Hand-made results: {arm: [one value per seed]} or {(arm, value): [...]}."""
    out = []
    for key, per_seed in values.items():
        arm, value = key if isinstance(key, tuple) else (key, None)
        for seed, v in enumerate(per_seed):
            out.append({"arm": arm, "value": value, "seed": seed, "status": "diverged" if v is None else status,
                        "metrics": {metric: v}})
    return out


def test_the_bundled_labs_load_and_check_every_runs_settings(tmp_path):
    labs = lab_paths()
    assert "batchnorm-lr" in labs and len(labs) >= 15
    for path in labs.values():
        lab = load_lab(path)
        assert lab.question.endswith("?") and lab.lesson and lab.run_count() >= 2
        assert estimate(lab, tmp_path) is None  # a time is measured here, never typed: none before it ran


def test_a_labs_time_is_measured_where_it_ran_and_follows_seeds_and_epochs(tmp_path):
    lab = load_lab(write_lab(tmp_path))  # two arms of 2 epochs, 2 seeds
    folder = tmp_path / "runs" / "lab-toy-0000"
    folder.mkdir(parents=True)
    runs = [{"arm": arm, "value": None, "seed": seed, "status": "completed", "metrics": {"wall_seconds": wall}}
            for arm, wall in (("plain", 4.0), ("dropout", 6.0)) for seed in (0, 1)]
    # the four runs took 20 s of run time in 10 s of the lab's: two at once
    (folder / "lab.json").write_text(json.dumps({"lab": "toy", "results": runs, "seconds": 10.0, "extra": {}}))
    assert estimate(lab, tmp_path / "runs") == pytest.approx(10.0)
    assert estimate(lab, tmp_path / "runs", seeds=4) == pytest.approx(20.0)
    assert estimate(lab, tmp_path / "runs", extra={"train.epochs": 6}) == pytest.approx(30.0)
    assert estimate(load_lab(write_lab(tmp_path, name="other")), tmp_path / "runs") is None


def test_a_short_runs_warm_up_is_not_multiplied_by_a_long_runs_epochs(tmp_path):
    """`lab run overfitting --epochs 2` then `lab list`: the first epoch pays for warming up, so
    a lab's time is each run's first epoch plus its later epochs at their median time."""
    lab = load_lab(write_lab(tmp_path))  # two arms of 2 epochs, 2 seeds
    folder = tmp_path / "runs" / "lab-toy-0000"
    folder.mkdir(parents=True)
    metrics = {"wall_seconds": 3.5, "epoch_seconds": 0.5, "epochs_run": 2}  # 3 s for the first epoch, 0.5 the next
    runs = [{"arm": arm, "value": None, "seed": seed, "status": "completed", "metrics": metrics}
            for arm in ("plain", "dropout") for seed in (0, 1)]
    (folder / "lab.json").write_text(json.dumps({"lab": "toy", "results": runs, "seconds": 14.0, "extra": {}}))
    assert estimate(lab, tmp_path / "runs") == pytest.approx(14.0)  # as it ran: 4 runs of 3.5 s, one at a time
    # 40 epochs: 3 + 39 × 0.5 = 22.5 s a run, 4 runs (wall time per epoch would say 40 × 1.75 = 70 s a run)
    assert estimate(lab, tmp_path / "runs", extra={"train.epochs": 40}) == pytest.approx(4 * 22.5)


@pytest.mark.parametrize("verdict, extra, message", [
    ('metric = "best_val_los"', "", "unknown metric 'best_val_los'"),
    ('metric = "best_val_loss"\nreference = "nobody"', "", "no arm named 'nobody'"),
    ('metric = "best_val_loss"\nbetter = ["dropout"]', "", "relative to a reference arm"),
    ('rule = "highest"\nmetric = "best_val_accuracy"', "", "needs a [scan] of numbers and a numeric target"),
    ('metric = "best_val_loss"', "[scan]\nkey = \"train.lr\"\nvalues = []", "[scan]: needs key"),
    ('metric = "best_val_loss"', "wrong = 1", "unknown key 'wrong'"),
    ('metric = "best_val_loss"', "[scan]\nkey = \"train.lr\"\nvalues = [-1.0]", "train.lr"),
])
def test_a_lab_that_makes_no_sense_is_refused_with_what_to_fix(tmp_path, verdict, extra, message):
    with pytest.raises(LabError) as caught:
        load_lab(write_lab(tmp_path, verdict, extra))
    assert message in str(caught.value)


def test_an_unknown_lab_names_the_close_one():
    with pytest.raises(LabError, match="did you mean 'batchnorm-lr'"):
        load_lab("batchnorm-l")


def test_noise_decides_what_counts_as_a_difference():
    assert clear(Stat([0.30, 0.31, 0.29]), Stat([0.50, 0.52, 0.49]), 0.02)
    assert not clear(Stat([0.30, 0.50]), Stat([0.42, 0.36]), 0.02)  # means 0.40 and 0.39, seeds spread widely
    assert not clear(Stat([0.300]), Stat([0.303]), 0.02)  # one seed: a 1 % difference is none
    assert not clear(Stat([0.30]), Stat([0.40]), 0.02)  # one seed: no noise measured, so never clear
    assert apart(Stat([0.30]), Stat([0.40]), 0.02)  # but a direction, which the verdict calls indicative
    assert clear(Stat([2.0, 3.0]), Stat([math.inf, math.inf]), 0.02)  # never reached, against reached on every seed
    assert not clear(Stat([2.0, math.inf]), Stat([3.0, 3.0]), 0.02)  # reached on one seed only: overlapping
    # losses of runs whose gradients exploded, and clipped ones
    exploded, steady = Stat([70.0, 4150.0]), Stat([2.09, 2.43])
    # orders of magnitude: a log scale
    assert not clear(exploded, steady, 0.02) and clear(exploded, steady, 0.02, log=True)


def test_compare_against_a_reference_holds_goes_against_or_cannot_tell(tmp_path):
    lab = load_lab(write_lab(tmp_path))
    held = judge(lab, results({"plain": [0.50, 0.52], "dropout": [0.40, 0.41]}))
    assert held.outcome == "holds" and held.headline == "The lesson holds here"
    assert "dropout: 0.405 ± 0.00707 (2 seeds), better than plain (Δ -0.105), as the lesson expects" in held.text()
    against = judge(lab, results({"plain": [0.40, 0.41], "dropout": [0.50, 0.52]}))
    assert against.outcome == "contradicted"
    assert "worse than plain" in against.text()
    assert "the lesson expects better" in against.text()
    noise = judge(lab, results({"plain": [0.40, 0.50], "dropout": [0.44, 0.45]}))
    assert noise.outcome == "unclear" and noise.text().startswith("No clear difference here.")
    assert "no clear difference from plain" in noise.text() and "twice the standard error" in noise.text()


def test_compare_without_a_reference_ranks_the_arms(tmp_path):
    lab = load_lab(write_lab(tmp_path, 'metric = "test_accuracy"\nbest = "dropout"'))
    verdict = judge(lab, results({"plain": [0.90, 0.91], "dropout": [0.95, 0.96]}, "test_accuracy"))
    assert verdict.outcome == "holds" and "best first: dropout 0.955" in verdict.text()
    verdict = judge(lab, results({"plain": [0.95, 0.96], "dropout": [0.90, 0.91]}, "test_accuracy"))
    assert verdict.outcome == "contradicted"
    assert "the lesson expects dropout to be best: here it is clearly behind plain" in verdict.text()
    verdict = judge(lab, results({"plain": [0.95], "dropout": [0.951]}, "test_accuracy"))
    assert verdict.outcome == "indicative" and "one seed" in verdict.text()


def test_highest_finds_the_highest_value_reached_on_every_seed(tmp_path):
    scan = "[scan]\nkey = \"train.lr\"\nvalues = [0.01, 0.1, 1.0]"
    lab = load_lab(write_lab(tmp_path,
                             'rule = "highest"\nmetric = "best_val_accuracy"\ntarget = 0.8\nbest = "dropout"', scan))
    made = results({("dropout", 0.01): [0.9, 0.9], ("dropout", 0.1): [0.85, 0.82], ("dropout", 1.0): [0.5, None],
                    ("plain", 0.01): [0.9, 0.88], ("plain", 0.1): [0.6, 0.81], ("plain", 1.0): [None, None]},
                   "best_val_accuracy")
    verdict = judge(lab, made)
    assert verdict.outcome == "unclear"  # plain reached 0.8 at lr 0.1 on one seed: the arms overlap
    assert ("dropout: best_val_accuracy >= 0.8 up to lr = 0.1 (each seed: 0.1, 0.1); diverged from lr = 1"
            in verdict.lines)
    assert ("plain: best_val_accuracy >= 0.8 up to lr = 0.1 (each seed: 0.01, 0.1); diverged from lr = 1"
            in verdict.lines)
    made = [r if not (r["arm"] == "plain" and r["value"] == 0.1) else {**r, "metrics": {"best_val_accuracy": 0.5}}
            for r in made]
    assert judge(lab, made).outcome == "holds"


def test_a_lab_end_to_end_in_two_processes_then_again_from_its_folder(tmp_path, mnist1d):
    lab = write_lab(tmp_path, 'metric = "best_val_loss"\nreference = "plain"\nbetter = ["dropout"]')
    runs = tmp_path / "runs"
    args = ["lab", "run", str(lab), "--seeds", "1", "--jobs", "2", "--runs-dir", str(runs),
            "--set", "model.cnn.channels=[8]", "--set", "model.cnn.fc_hidden=16", "--set", "train.epochs=1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 arms × 1 seeds = 2 runs of cnn-mnist1d, 2 at a time" in result.output
    assert "[2/2]" in result.output and "best_val_loss" in result.output
    folder = next(runs.glob("lab-toy-*"))
    saved = json.loads((folder / "lab.json").read_text())
    assert saved["question"] == "Does dropout help here?" and len(saved["results"]) == 2 and not saved["stopped"]
    assert follows_from_its_numbers(folder, lab)[1] == 1  # dropout against plain: its Δ and its word
    assert {r["name"] for r in saved["results"]} == {"plain-s0", "dropout-s0"}
    assert all(r["metrics"]["best_val_loss"] > 0 and r["metrics"]["gap"] is not None for r in saved["results"])
    assert saved["verdict"]["headline"] in result.output and "The lesson: Dropout regularises." in result.output
    again = CliRunner().invoke(app, args)  # complete: nothing trains, the same verdict
    assert again.exit_code == 0 and "[1/" not in again.output and saved["verdict"]["headline"] in again.output
    listed = CliRunner().invoke(app, ["runs", "list", "--runs-dir", str(runs)])
    assert "plain-s0" in listed.output and "dropout-s0" in listed.output  # ordinary run folders
    pytest.importorskip("matplotlib")
    plotted = CliRunner().invoke(app, ["runs", "plot", str(folder), "--weights", "-o", str(tmp_path / "lab.png")])
    assert plotted.exit_code == 0 and (tmp_path / "lab.png").stat().st_size > 20_000


def test_lab_commands_report_mistakes_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["lab", "run", "no-such-lab", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "unknown lab 'no-such-lab'" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["lab", "run", str(tmp_path / "missing.toml"), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no such lab file" in result.output
    listed = CliRunner().invoke(app, ["lab", "list"])
    assert listed.exit_code == 0 and "Why does BatchNorm allow higher learning rates?" in listed.output
    shown = CliRunner().invoke(app, ["lab", "show", "batchnorm-lr", "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 2
    assert "no lab folder of 'batchnorm-lr' in" in shown.output
    assert "Traceback" not in shown.output
    shown = CliRunner().invoke(app, ["lab", "show", str(tmp_path), "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 2 and "not a lab folder" in shown.output


def test_the_same_holds_only_when_the_data_show_it(tmp_path):
    """Absence of evidence is not evidence of sameness: an equivalence test, and arms without results."""
    lab = load_lab(write_lab(tmp_path, 'metric = "test_accuracy"\nreference = "plain"\nsame = ["dropout"]'))
    nothing = judge(lab, [])
    assert nothing.outcome == "skipped" and "not measured here" in nothing.text()
    no_arm = judge(lab, results({"plain": [0.90, 0.91]}, "test_accuracy"))
    assert no_arm.outcome == "skipped" and "dropout: not measured here (no results)" in no_arm.lines
    noisy = judge(lab, results({"plain": [0.5, 0.9], "dropout": [0.7, 0.8]}, "test_accuracy"))  # 0.7 against 0.75
    assert noisy.outcome == "unclear" and "no clear difference from plain" in noisy.text()
    one_seed = judge(lab, results({"plain": [0.90], "dropout": [0.901]}, "test_accuracy"))
    assert one_seed.outcome == "indicative" and "no two arms the same" in one_seed.text()
    shown = judge(lab, results({"plain": [0.900, 0.904, 0.902], "dropout": [0.901, 0.903, 0.905]}, "test_accuracy"))
    assert shown.outcome == "holds"
    assert ("dropout: 0.903 ± 0.002 (3 seeds), the same as plain within ±2% (Δ +0.001), as the lesson expects"
            in shown.lines)
    wider = load_lab(write_lab(tmp_path, 'metric = "test_accuracy"\nreference = "plain"\nsame = ["dropout"]\n'
                                         'margin = 0.2', name="wide"))
    assert judge(wider, results({"plain": [0.5, 0.9], "dropout": [0.7, 0.8]}, "test_accuracy")).outcome == "unclear"
    assert judge(wider, results({"plain": [0.70, 0.74], "dropout": [0.72, 0.73]}, "test_accuracy")).outcome == "holds"
    expects_better = load_lab(write_lab(tmp_path, 'metric = "test_accuracy"\nreference = "plain"\n'
                                                  'better = ["dropout"]', name="better"))
    against = judge(expects_better, results({"plain": [0.900, 0.902], "dropout": [0.901, 0.902]}, "test_accuracy"))
    assert against.outcome == "contradicted"  # shown the same where the lesson expects a gain
    assert "the same as plain within ±2% (Δ +0.0005); the lesson expects better" in against.text()


def test_paired_verdicts_cancel_what_the_seeds_share(tmp_path):
    lab = load_lab(write_lab(tmp_path, 'rule = "paired"\nmetric = "eval_mode_test_accuracy"\nagainst = '
                                       '["train_mode_test_accuracy"]\nworse = ["train_mode_test_accuracy"]'))
    made = [{"arm": "dropout", "seed": s, "status": "completed",
             "metrics": {"eval_mode_test_accuracy": e, "train_mode_test_accuracy": t}}
            for s, (e, t) in enumerate([(0.70, 0.66), (0.72, 0.65), (0.76, 0.72)])]
    assert not clear(Stat([0.70, 0.72, 0.76]), Stat([0.66, 0.65, 0.72]), 0.02)  # as two arms: inside the seeds' spread
    verdict = judge(lab, made)  # run by run, every seed loses 0.04 to 0.07
    assert verdict.outcome == "holds", verdict.text()
    assert ("train_mode_test_accuracy 0.677 ± 0.0379 (3 seeds): lower by 0.05 ± 0.0173 on the same runs, worse, "
            "as the lesson expects" in verdict.lines)


def test_several_verdicts_each_on_their_arms_and_arms_that_cannot_run_here(tmp_path):
    verdicts = ('[[verdict]]\nmetric = "final_weight_norm"\nreference = "plain"\ndiffer = ["dropout"]\n'
                '[[verdict]]\nmetric = "best_val_loss"\narms = ["plain", "dropout"]\nreference = '
                '"plain"\nsame = ["dropout"]\n')
    path = tmp_path / "toy.toml"
    path.write_text(textwrap.dedent(LAB).format(verdict="", extra="").replace("[verdict]\n", verdicts))
    lab = load_lab(path)
    assert [r.metric for r in lab.rules] == ["final_weight_norm", "best_val_loss"]
    made = [{"arm": a, "seed": s, "status": "completed", "metrics": {"final_weight_norm": w, "best_val_loss": v}}
            for a, rows in {"plain": [(6.6, 0.400), (6.8, 0.401)], "dropout": [(16.5, 0.400), (16.6, 0.402)]}.items()
            for s, (w, v) in enumerate(rows)]
    verdict = judge(lab, made)
    assert verdict.outcome == "holds", verdict.text()
    assert "  dropout: 16.6 ± 0.0707 (2 seeds), higher than plain (Δ +9.85), as the lesson expects" in verdict.lines
    assert "best_val_loss (plain, dropout): the lesson holds here" in verdict.lines
    assert any("the same as plain within ±2%" in line for line in verdict.lines)
    skipped = judge(lab, [r for r in made if r["arm"] == "plain"], {"dropout": "no GPU here"})
    assert skipped.outcome == "skipped"
    assert skipped.headline == "Not measured here"
    assert "  dropout: no GPU here" in skipped.lines
