"""The labs of the lesson's last questions (factorial labs and greedy forward selection, deep
ResNets, RNN against CNN gradients, a constant learning rate, early stopping) on toy budgets,
and that every verdict follows from the numbers its ``lab.json`` holds."""

import json
import textwrap

import pytest
from helpers import follows_from_its_numbers
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.experiments.labs import LabError, load_lab
from tui_trainer.experiments.labs.verdict import judge

FACTORIAL = """
question = "Which tricks make a pipeline?"
lesson = "Three or more together."
base = "cnn-mnist1d"
seeds = 2
[set]
"train.epochs" = 1
[factors]
a = {{ "tricks.batchnorm.enabled" = true }}
b = {{ "tricks.dropout.enabled" = true }}
c = {{ "tricks.label_smoothing.enabled" = true }}
[verdict]
rule = "forward"
metric = "best_val_accuracy"
{extra}
"""


def factorial(tmp_path, extra=""):
    path = tmp_path / "pipe.toml"
    path.write_text(textwrap.dedent(FACTORIAL).format(extra=extra))
    return load_lab(path)


def made(values: dict[str, list[float]]):
    return [{"arm": arm, "seed": s, "status": "completed", "metrics": {"best_val_accuracy": v}}
            for arm, seeds in values.items() for s, v in enumerate(seeds)]


def test_factors_make_every_combination_and_forward_selection_walks_them(tmp_path):
    lab = factorial(tmp_path)
    assert [a.name for a in lab.arms] == ["none", "a", "b", "c", "a + b", "a + c", "b + c", "a + b + c"]
    assert lab.arms[-1].overrides == {"tricks.batchnorm.enabled": True, "tricks.dropout.enabled": True,
                                      "tricks.label_smoothing.enabled": True}
    scores = {"none": [0.80, 0.81], "a": [0.90, 0.91], "b": [0.85, 0.86], "c": [0.82, 0.81],
              "a + b": [0.95, 0.95], "a + c": [0.91, 0.92], "b + c": [0.86, 0.86], "a + b + c": [0.951, 0.952]}
    verdict = judge(lab, made(scores))
    # a first (0.905), then b (0.95); c adds 0.0015: not clear, so the walk stops at two tricks
    assert "step 1: + a: 0.905 ± 0.00707 (2 seeds), clearly better than 0.805; next: + b 0.855" in verdict.lines
    assert "step 2: + b: 0.95 ± 0 (2 seeds), clearly better than 0.905; next: + c 0.915" in verdict.lines
    assert verdict.lines[3].startswith("step 3: no trick clearly improves on it; the best, + c, gives 0.952")
    assert "pipeline found: a + b, 2 tricks: 0.95 ± 0 (2 seeds)" in verdict.lines
    assert verdict.outcome == "mixed"  # better than none, as expected, but two tricks where the lesson expects three
    assert "2 tricks earned a place; the lesson expects 3 or more" in verdict.lines
    scores["a + b + c"] = [0.99, 0.99]
    verdict = judge(lab, made(scores))
    assert verdict.outcome == "holds" and "pipeline found: a + b + c, 3 tricks: 0.99 ± 0 (2 seeds)" in verdict.lines
    nothing = judge(lab, made({"a": [0.9, 0.9]}))
    assert nothing.outcome == "skipped"


def test_factorial_mistakes_are_named(tmp_path):
    with pytest.raises(LabError, match="walks the combinations of \\[factors\\]"):
        path = tmp_path / "bad.toml"
        path.write_text(textwrap.dedent(FACTORIAL).format(extra="").replace(
            '[factors]\na = { "tricks.batchnorm.enabled" = true }\nb = { "tricks.dropout.enabled" = true }\n'
            'c = { "tricks.label_smoothing.enabled" = true }\n', '[[arm]]\nname = "x"\nset = {}\n'))
        load_lab(path)
    path = tmp_path / "many.toml"
    many = "\n".join(f'f{i} = {{ "train.lr" = 0.00{i + 1} }}' for i in range(7))
    path.write_text(textwrap.dedent(FACTORIAL).format(extra="").replace('a = { "tricks.batchnorm.enabled" = true }',
                                                                        many))
    with pytest.raises(LabError, match="at most 6"):
        load_lab(path)


def run_lab(tmp_path, name, *args):
    result = CliRunner().invoke(app, ["lab", "run", name, "--runs-dir", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith(f"lab-{name}-")]
    return folder, result.output


def test_the_early_stopping_lab_reaches_a_verdict_on_a_toy_budget(tmp_path, mnist1d):
    folder, _ = run_lab(tmp_path, "early-stopping", "--seeds", "2", "--epochs", "12", "--jobs", "1")
    session, checked = follows_from_its_numbers(folder, "early-stopping")
    assert len(session["results"]) == 4 and checked == 1  # two arms on two seeds; one arm against the reference
    by_arm = {r["arm"]: r for r in session["results"] if r["seed"] == session["seeds"][0]}
    assert by_arm["no early stopping"]["metrics"]["epochs_run"] == 12  # the long run goes to its end
    shown = CliRunner().invoke(app, ["lab", "show", "early-stopping", "--runs-dir", str(tmp_path), "--json"])
    record = json.loads(shown.output)  # the same record, for scripts
    assert record["folder"] == str(folder) and record["verdict"] == session["verdict"]
    assert len(record["results"]) == 4 and record["planned"] == 4
    assert by_arm["early stopping"]["metrics"]["epochs_run"] <= 12


def test_the_pipeline_lab_selects_tricks_over_every_combination(tmp_path, mnist1d):
    folder, output = run_lab(tmp_path, "trick-pipeline", "--seeds", "1", "--epochs", "1", "--jobs", "2",
                             "--set", "model.cnn.channels=[8]", "--set", "model.cnn.fc_hidden=16",
                             "--set", "data.train_limit=512")
    session, _ = follows_from_its_numbers(folder, "trick-pipeline")
    assert len(session["results"]) == 32 and "32 arms × 1 seeds = 32 runs" in output
    lines = session["verdict"]["lines"]
    assert lines[0].startswith("validation accuracy at the best epoch: no tricks ")
    assert any(line.startswith("pipeline found: ") for line in lines) and "earned a place" in lines[-1]


def test_the_deep_resnet_and_gradient_labs_reach_verdicts_on_toy_budgets(tmp_path, mnist1d):
    folder, _ = run_lab(tmp_path, "deep-resnet", "--seeds", "1", "--epochs", "1", "--jobs", "2",
                        "--set", "model.resnet.widths=[4, 8, 8]", "--set", "data.train_limit=256")
    session, checked = follows_from_its_numbers(folder, "deep-resnet")
    assert len(session["results"]) == 7 and checked >= 3
    # the gradient lab's own models, on a toy budget (4 epochs, one seed): the arms it judges learn at all
    folder, _ = run_lab(tmp_path, "rnn-vs-cnn-gradients", "--seeds", "1", "--jobs", "2", "--threads", "1",
                        "--set", "train.epochs=4")
    session, checked = follows_from_its_numbers(folder, "rnn-vs-cnn-gradients")
    assert len(session["results"]) == 5 and checked >= 2
    assert all(r["metrics"]["grad_norm_spike"] >= 1 for r in session["results"])  # the largest over the median
    got = {r["arm"]: r["metrics"] for r in session["results"]}
    assert got["CNN"]["best_val_accuracy"] > 0.3 and got["LSTM"]["best_val_accuracy"] > 0.2  # chance: 0.1
    assert got["RNN, text, 32 steps"]["best_val_bits_per_char"] < 4.0  # the unigram model: about 4.6
    assert got["RNN, text, 128 steps"]["best_val_bits_per_char"] < 4.0
    # the plain RNN stays at chance on MNIST-1D (the lab's note): named, and left out of the verdict
    named = any(line.strip().startswith("RNN did not learn on 1 of 1") for line in session["verdict"]["lines"])
    assert named == (got["RNN"]["best_val_accuracy"] < 0.3)


def test_the_constant_lr_lab_reads_the_last_tenth_of_the_run(tmp_path, mnist1d):
    folder, _ = run_lab(tmp_path, "constant-lr", "--seeds", "1", "--epochs", "10", "--jobs", "2",
                        "--set", "model.cnn.channels=[8]", "--set", "data.train_limit=256")
    session, checked = follows_from_its_numbers(folder, "constant-lr")
    assert len(session["results"]) == 3 and checked >= 2
    assert all(r["metrics"]["tail_loss_noise"] >= 0 and r["metrics"]["tail_train_loss"] > 0
               for r in session["results"])
