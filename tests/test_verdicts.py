"""Verdicts that never say more than their data: every rule on hand-made results with no results,
one seed, two seeds, a NaN, every run diverged, and an arm missing. Each outcome and line is
worked out here from the numbers given, not by asking the verdict code again."""

from __future__ import annotations

import math
import textwrap

import pytest

from test_lab_questions import factorial, made
from test_labs import results, write_lab

from tui_trainer.experiments.labs import LabError, load_lab
from tui_trainer.experiments.labs.verdict import judge

INDICATIVE = "Indicative only: one seed, its spread not measured"
FAILED = "Every run compared failed here: nothing to judge"
PARTIAL = "In part: not all measured here"
NOT_MEASURED = "Not measured here"


def reference_lab(tmp_path, arms=("plain", "dropout"), better=("dropout",), name="ref"):
    """A lab comparing arms with "plain" on best_val_loss (lower is better)."""
    arms_toml = "".join(f'[[arm]]\nname = "{a}"\nset = {{ "train.lr" = 0.00{i + 1} }}\n' for i, a in enumerate(arms))
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent("""
        question = "?"
        lesson = "."
        base = "cnn-mnist1d"
        seeds = 2
        """) + arms_toml + '[verdict]\nmetric = "best_val_loss"\nreference = "plain"\nbetter = '
                   + "[" + ", ".join(f'"{b}"' for b in better) + "]\n")
    return load_lab(path)


def test_compare_against_a_reference_on_thin_failed_and_missing_data(tmp_path):
    lab = reference_lab(tmp_path)
    nothing = judge(lab, [])
    assert (nothing.outcome, nothing.headline) == ("skipped", NOT_MEASURED)

    one = judge(lab, results({"plain": [0.50], "dropout": [0.40]}))  # 20 % apart on one seed: a direction
    assert (one.outcome, one.headline) == ("indicative", INDICATIVE)
    assert ("dropout: 0.4 (1 seed), better than plain (one seed: a direction only) (Δ -0.1), the way the lesson "
            "expects (indicative)") in one.lines
    assert "no difference can be shown clear" in one.noise

    two = judge(lab, results({"plain": [0.50, 0.52], "dropout": [0.40, 0.41]}))  # Δ -0.105, errors ~0.01
    assert (two.outcome, two.headline) == ("holds", "The lesson holds here")

    with_nan = results({"plain": [0.50, 0.52], "dropout": [0.40, 0.41, math.nan]})  # seed 2 ran, gave NaN
    named = judge(lab, with_nan)
    assert named.outcome == "holds"  # judged on the two numbers, and the NaN is said
    assert any(line.startswith("dropout: 0.405 ± 0.00707 (2 seeds); seed 2 gave NaN without diverging, better")
               for line in named.lines), named.lines

    diverged = judge(lab, results({"plain": [None, None], "dropout": [None, None]}))
    assert (diverged.outcome, diverged.headline) == ("failed", FAILED)  # not "the same"
    assert ("dropout: diverged on every seed (2 seeds), failed on every seed, as plain did: nothing to compare"
            in diverged.lines)

    three = reference_lab(tmp_path, ("plain", "dropout", "bn"), ("dropout", "bn"), name="three")
    missing = judge(three, results({"plain": [0.50, 0.52], "dropout": [0.40, 0.41]}))  # bn: no results
    assert (missing.outcome, missing.headline) == ("partial", PARTIAL)  # never "holds" on half the claim
    assert "bn: not measured here (no results)" in missing.lines


def test_the_same_needs_two_seeds_and_runs_that_did_not_fail(tmp_path):
    lab = load_lab(write_lab(tmp_path, 'metric = "epochs_to:val_accuracy>=0.9"\nreference = "plain"\n'
                                       'same = ["dropout"]'))
    never = [{"arm": a, "seed": s, "status": "completed", "metrics": {"epochs_to:val_accuracy>=0.9": math.inf}}
             for a in ("plain", "dropout") for s in (0, 1)]
    verdict = judge(lab, never)  # no run reached the target: nothing shows the arms alike
    assert verdict.outcome == "failed" and "as the lesson expects" not in verdict.text()
    one = judge(lab, [r for r in never if r["seed"] == 0])
    assert one.outcome == "failed" and not any("the same as plain" in line for line in one.lines)


def test_compare_without_a_reference_on_thin_failed_and_missing_data(tmp_path):
    lab = load_lab(write_lab(tmp_path, 'metric = "test_accuracy"\nbest = "dropout"'))
    assert judge(lab, []).outcome == "skipped"
    alone = judge(lab, results({"dropout": [0.95, 0.96]}, "test_accuracy"))
    assert (alone.outcome, alone.headline) == ("partial", PARTIAL)
    assert "only dropout has results: nothing to rank it against" in alone.lines
    one = judge(lab, results({"plain": [0.90], "dropout": [0.95]}, "test_accuracy"))  # 5 % ahead on one seed
    assert one.outcome == "indicative"
    assert "dropout is ahead of plain by more than 2% (one seed: indicative)" in one.lines
    two = judge(lab, results({"plain": [0.90, 0.91], "dropout": [0.95, 0.96]}, "test_accuracy"))
    assert two.outcome == "holds" and "dropout is best, clearly ahead of plain" in two.lines
    diverged = judge(lab, results({"plain": [None, None], "dropout": [None, None]}, "test_accuracy"))
    assert diverged.outcome == "failed" and "every run of plain and dropout failed: no best to name" in diverged.lines


def test_paired_on_one_run_none_and_every_run_diverged(tmp_path):
    lab = load_lab(write_lab(tmp_path, 'rule = "paired"\nmetric = "eval_mode_test_accuracy"\nagainst = '
                                       '["train_mode_test_accuracy"]\nworse = ["train_mode_test_accuracy"]'))

    def run(seed, e, t, status="completed"):
        metrics = {} if e is None else {"eval_mode_test_accuracy": e, "train_mode_test_accuracy": t}
        return {"arm": "dropout", "seed": seed, "status": status, "metrics": metrics}

    assert judge(lab, []).outcome == "skipped"
    one = judge(lab, [run(0, 0.70, 0.66)])  # 0.04 lower on one run: a direction only
    assert one.outcome == "indicative"
    assert ("train_mode_test_accuracy 0.66 (1 seed): lower by 0.04 on the same run (one run: a direction only), "
            "worse, the way the lesson expects (indicative)") in one.lines
    three = judge(lab, [run(0, 0.70, 0.66), run(1, 0.72, 0.65), run(2, 0.76, 0.72)])
    assert three.outcome == "holds"
    diverged = judge(lab, [run(0, None, None, "diverged"), run(1, None, None, "diverged")])
    assert diverged.outcome == "failed"
    assert "train_mode_test_accuracy: every run diverged: nothing to compare" in diverged.lines


def test_highest_on_one_seed_nothing_reached_and_an_arm_missing(tmp_path):
    scan = "[scan]\nkey = \"train.lr\"\nvalues = [0.01, 0.1, 1.0]"
    lab = load_lab(write_lab(tmp_path,
                             'rule = "highest"\nmetric = "best_val_accuracy"\ntarget = 0.8\nbest = "dropout"', scan))
    assert judge(lab, []).outcome == "skipped"
    one = results({("dropout", 0.01): [0.9], ("dropout", 0.1): [0.85], ("plain", 0.01): [0.9], ("plain", 0.1): [0.6]},
                  "best_val_accuracy")
    assert judge(lab, one).outcome == "indicative"  # dropout higher, on one seed only
    below = results({("dropout", 0.01): [0.5, 0.6], ("plain", 0.01): [0.4, 0.5]}, "best_val_accuracy")
    nothing = judge(lab, below)
    assert nothing.outcome == "failed" and "no run reached it: no value to compare" in nothing.lines
    diverged = results({("dropout", 1.0): [None, None], ("plain", 1.0): [None, None]}, "best_val_accuracy")
    assert "every run diverged: no value to compare" in judge(lab, diverged).lines
    plain_only = results({("plain", 0.01): [0.9, 0.9]}, "best_val_accuracy")
    assert judge(lab, plain_only).outcome == "skipped"  # the arm the lesson speaks of never ran


def test_forward_on_one_seed_and_every_run_diverged(tmp_path):
    lab = factorial(tmp_path)
    scores = {"none": [0.80], "a": [0.90], "b": [0.85], "c": [0.82], "a + b": [0.95], "a + c": [0.91],
              "b + c": [0.86], "a + b + c": [0.99]}
    one = judge(lab, made(scores))  # the walk follows the gaps, but nothing is measured against noise
    assert one.outcome == "indicative" and "pipeline found: a + b + c, 3 tricks: 0.99 (1 seed)" in one.lines
    diverged = [{"arm": arm, "seed": s, "status": "diverged", "metrics": {}} for arm in scores for s in (0, 1)]
    failed = judge(lab, diverged)
    assert failed.outcome == "failed" and "every run of every arm diverged: no pipeline to find" in failed.lines
    assert "nan" not in failed.text()


def test_several_claims_one_unmeasured_or_on_one_seed_lower_the_headline_and_say_each_noise_once(tmp_path):
    verdicts = ('[[verdict]]\nmetric = "best_val_loss"\nreference = "plain"\nbetter = ["dropout"]\n'
                '[[verdict]]\nmetric = "test_accuracy"\nreference = "plain"\nsame = ["dropout"]\nmargin = 0.03\n')
    path = tmp_path / "two.toml"
    path.write_text(write_lab(tmp_path).read_text().split("[verdict]")[0] + verdicts)
    lab = load_lab(path)
    made_runs = [{"arm": a, "seed": s, "status": "completed", "metrics": {"best_val_loss": v, "test_accuracy": acc}}
                 for a, rows in {"plain": [(0.50, 0.900), (0.52, 0.902)], "dropout": [(0.40, 0.901), (0.41, 0.903)]}
                 .items() for s, (v, acc) in enumerate(rows)]
    both = judge(lab, made_runs)
    assert both.outcome == "holds"
    notes = [line for line in both.lines if line.startswith("  (")]  # two rules of noise (±2 %, ±3 %): each once
    assert len(notes) == 2 and both.noise == "" and "±3%" in notes[1]
    half = judge(lab, [{**r, "metrics": {"best_val_loss": r["metrics"]["best_val_loss"]}} for r in made_runs])
    assert (half.outcome, half.headline) == ("partial", PARTIAL)  # the accuracy claim was not measured at all
    thin = judge(lab, [r for r in made_runs if r["seed"] == 0])
    assert thin.outcome == "indicative"


def test_runs_that_did_not_learn_are_named_and_not_judged(tmp_path):
    """An arm left at chance says nothing about training it: its runs are named and left out."""
    path = tmp_path / "learn.toml"
    path.write_text(textwrap.dedent("""
        question = "?"
        lesson = "."
        base = "cnn-mnist1d"
        seeds = 2
        [learned]
        best_val_accuracy = 0.5
        [[arm]]
        name = "cnn"
        set = { "train.lr" = 0.001 }
        [[arm]]
        name = "rnn"
        set = { "train.lr" = 0.002 }
        [[arm]]
        name = "lstm"
        set = { "train.lr" = 0.003 }
        [verdict]
        metric = "grad_norm_spike"
        reference = "cnn"
        worse = ["rnn", "lstm"]
        """))
    lab = load_lab(path)
    assert "best_val_accuracy" in lab.metrics  # measured for every run
    spikes = {"cnn": [3.0, 3.2], "rnn": [4.0, 4.1], "lstm": [30.0, 31.0, 29.0]}
    accuracy = {"cnn": [0.9, 0.9], "rnn": [0.11, 0.12], "lstm": [0.8, 0.3, 0.7]}
    made = results(spikes, "grad_norm_spike")
    for r in made:
        r["metrics"]["best_val_accuracy"] = accuracy[r["arm"]][r["seed"]]
    verdict = judge(lab, made)
    # rnn: both seeds under the bar, so not judged; lstm: judged on seeds 0 and 2 (30, 29 against 3, 3.2)
    assert (verdict.outcome, verdict.headline) == ("partial", PARTIAL)
    assert "rnn: not judged (it did not learn)" in verdict.lines
    assert ("rnn did not learn on 2 of 2 seeds (seeds 0, 1: best_val_accuracy 0.115 ± 0.00707 (2 seeds), the bar "
            "≥ 0.5): not judged") in verdict.lines
    assert ("lstm did not learn on 1 of 3 seeds (seed 1: best_val_accuracy 0.3 (1 seed), the bar ≥ 0.5): judged on "
            "the seeds that learned") in verdict.lines
    lstm = [line for line in verdict.lines if line.startswith("lstm: ")]
    assert lstm and lstm[0].startswith("lstm: 29.5 ± 0.707 (2 seeds), worse than cnn"), verdict.lines

    diverged = [{**r, "status": "diverged", "metrics": {"best_val_accuracy": 0.1}} for r in made if r["arm"] == "rnn"]
    kept = judge(lab, [r for r in made if r["arm"] != "rnn"] + diverged)
    assert not any(line.startswith("rnn did not learn") for line in kept.lines)  # a diverged run is judged as such
    assert any(line.startswith("rnn: diverged on every seed") for line in kept.lines), kept.lines


def test_a_bad_learned_table_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('question = "?"\nlesson = "."\nbase = "cnn-mnist1d"\n[learned]\nbest_val_acc = "high"\n'
                    '[[arm]]\nname = "a"\nset = {}\n[verdict]\nmetric = "best_val_loss"\n')
    with pytest.raises(LabError, match=r"\[learned\]: each entry is metric = a number"):
        load_lab(path)
    path.write_text(path.read_text().replace('best_val_acc = "high"', "best_val_acc = 0.5"))
    with pytest.raises(LabError, match=r"\[learned\]: unknown metric 'best_val_acc'"):
        load_lab(path)
