"""The doctor where a user meets it: `runs diagnose` (text and --json), the doctor's line in
`runs show`, the lesson's rules in `presets show`, the prescription as it is typed, and the lab
evidence it quotes (a whole lab run here first, else the shipped reference)."""

from __future__ import annotations

import json
from pathlib import Path

from doctor_runs import events, falling, rising_val
from helpers import make_config, write_run
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.config.loader import tomllib  # tomli on Python 3.10
from tui_trainer.doctor import diagnose, trace_of
from tui_trainer.doctor.measured import lab_says
from tui_trainer.doctor.prescriptions import typed
from tui_trainer.doctor.treat import TREATED
from tui_trainer.runs.folder import METRICS


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})
    return result.exit_code, result.output


def overfit_run(runs_dir, name="20261207-100000-cnn-mnist1d", **changes):
    config = make_config({"tricks.dropout.enabled": False, "tricks.early_stopping.enabled": False, **changes})
    n = 16
    return write_run(runs_dir, name, config, events(falling(n), rising_val(8, n, 0.4), patience=None,
                                                    tricks=["weight_decay"]))


def test_runs_diagnose_names_the_finding_its_evidence_and_the_command_to_try(tmp_path):
    path = overfit_run(tmp_path, **{"tricks.batchnorm.enabled": False})
    code, out = invoke("runs", "diagnose", "latest", "--runs-dir", tmp_path)
    assert code == 0, out
    assert out.startswith(f"{path}: completed, 16 epochs")
    assert "warning: over-fitting (high confidence, from epoch 8)" in out
    assert "validation loss rose from 0.5 (epoch 8) to 0.7 (epoch 16)" in out
    try_lines = [line for line in out.splitlines() if line.strip().startswith("try")]
    assert f"tui-trainer train {path / 'config.toml'} --early-stopping --dropout" in try_lines[0]
    assert "measured   lab overfitting:" in out and "dropout:" in out  # the lab's line on the trick prescribed
    rules = " ".join(out.split("the lesson's rules, on its settings:")[1].split("checked:")[0].split())
    assert "a CNN without BatchNorm" in rules and "(try --batchnorm)" in rules
    assert "no early stopping" not in rules  # prescribed above already
    assert "learning rate too low" not in out  # a training loss that falls as it over-fits is no slow run
    assert all(len(line) <= 80 for line in out.splitlines() if str(path) not in line)  # a path is as long as it is


def test_runs_diagnose_json_holds_every_finding_with_its_prescription(tmp_path):
    overfit_run(tmp_path)
    code, out = invoke("runs", "diagnose", "latest", "--runs-dir", tmp_path, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "completed" and data["epochs"] == 16
    first = data["findings"][0]
    assert first["name"] == "overfitting" and first["epoch"] == 8
    assert first["prescription"]["overrides"] == {"tricks.early_stopping.enabled": True, "tricks.dropout.enabled": True}
    assert len(data["checked"]) == 14 and len(data["rules"]) == 6 and "no activation readings" in data["unchecked"]


def test_a_run_being_written_is_diagnosed_on_what_can_be_read(tmp_path):
    path = overfit_run(tmp_path)
    with open(path / METRICS, "a", encoding="utf-8") as handle:
        handle.write('{"event": "epoch_ended", "epoch": 17, "train_lo')  # a writer killed mid-line
    code, out = invoke("runs", "diagnose", path.name, "--runs-dir", tmp_path)
    assert code == 0 and "over-fitting" in out and "16 epochs" in out


def test_a_run_with_nothing_to_read_is_one_line_and_exit_2(tmp_path):
    path = overfit_run(tmp_path)
    (path / METRICS).unlink()
    code, out = invoke("runs", "diagnose", path.name, "--runs-dir", tmp_path)
    assert code == 2 and out.count("\n") == 1 and "no metrics.jsonl" in out and "Traceback" not in out
    code, out = invoke("runs", "show", path.name, "--runs-dir", tmp_path)
    assert code == 0 and "doctor" not in out  # nothing to say, and the rest of the run still shown


def test_runs_show_carries_the_doctors_line(tmp_path):
    path = overfit_run(tmp_path)
    code, out = invoke("runs", "show", "latest", "--runs-dir", tmp_path)
    assert code == 0 and "doctor  warning: over-fitting, high confidence" in out
    assert f"runs diagnose {path.name}" in " ".join(out.split())
    code, out = invoke("runs", "show", "latest", "--runs-dir", tmp_path, "--json")
    assert json.loads(out)["diagnosis"]["findings"][0]["name"] == "overfitting"


def test_presets_show_comments_the_rules_a_preset_breaks_and_stays_toml():
    code, out = invoke("presets", "show", "text-optimized-rnn")
    assert code == 0 and "# rule: dropout that does nothing" in out and "model.lstm.inner_dropout=0" in out
    assert tomllib.loads(out)["model"]["lstm"]["inner_dropout"] == 0.3
    code, out = invoke("presets", "show", "cnn-mnist1d")
    assert code == 0 and "# rule:" not in out
    code, out = invoke("presets", "show", "cnn-mnist1d", "--set", "tricks.grad_clip.enabled=false", "--set",
                       "model.kind=lstm", "--json")
    assert [r["name"] for r in json.loads(out)["rules"]] == ["rnn_without_clipping", "batchnorm_in_rnn"]


def test_a_change_is_typed_as_train_takes_it():
    assert typed({"tricks.dropout.enabled": True, "tricks.batchnorm.enabled": False}) == "--dropout --no-batchnorm"
    assert typed({"train.lr": 0.0003, "train.epochs": 40}) == "--lr 0.0003 --epochs 40"
    assert typed({"tricks.grad_clip.threshold": 1.5, "tricks.mixed_precision.dtype": "bf16"}) == (
        "--set tricks.grad_clip.threshold=1.5 --set tricks.mixed_precision.dtype=bf16")
    assert typed({"model.cnn.channels": [64, 128]}) == "--set model.cnn.channels=[64,128]"  # one word in a shell
    n = 16  # the prescription's change is the run's own settings, changed
    run = events(falling(n), rising_val(8, n, 0.4))
    config = make_config({"tricks.dropout.enabled": True, "tricks.weight_decay.value": 0.02})
    [finding] = [f for f in diagnose(trace_of(run, config)).findings if f.name == "overfitting"]
    assert finding.prescription.overrides == {"tricks.weight_decay.value": 0.2}
    # a user's model whose factory takes no dropout argument: more decay, not a switch that cannot reach it
    run = events(falling(n), rising_val(8, n, 0.4), refused_tricks=["dropout"])
    config = make_config({"model.kind": "python", "model.python.factory": "m.py:f", "tricks.dropout.enabled": False,
                          "tricks.weight_decay.value": 0.02})
    [finding] = [f for f in diagnose(trace_of(run, config)).findings if f.name == "overfitting"]
    assert finding.prescription.overrides == {"tricks.weight_decay.value": 0.2}


def lab_folder(runs_dir, name, extra=None, outcome="holds"):
    folder = runs_dir / f"lab-{name}-0001"
    folder.mkdir(parents=True)
    verdict = {"outcome": outcome, "headline": "The lesson holds here",
               "lines": ["the metric: none 1.3", "dropout: 1.1, better than none"]}
    (folder / "lab.json").write_text(json.dumps({"lab": name, "extra": extra or {}, "verdict": verdict}))
    return folder


def test_the_lab_evidence_is_a_whole_run_here_else_the_reference(tmp_path):
    reference = lab_says("overfitting", tmp_path, ("dropout",))
    assert reference.startswith("In part; dropout:") and "(reference run on " in reference
    lab_folder(tmp_path, "overfitting", extra={"train.epochs": 2})  # settings of the user's: not the lab's answer
    assert lab_says("overfitting", tmp_path, ("dropout",)) == reference
    folder = lab_folder(tmp_path / "here", "overfitting")
    said = lab_says("overfitting", tmp_path / "here", ("dropout",))
    assert said == f"The lesson holds here; dropout: 1.1, better than none (lab run here: {folder.name})"
    assert lab_says("overfitting", tmp_path / "here", ("nothing",)).startswith("The lesson holds here; the metric")
    assert lab_says("no-such-lab", tmp_path) == ""


def slow_run(runs_dir):
    """A run whose LR is a hundred times too low, its events made to show it; its settings train fast."""
    n = 12
    steady = [2.3 * 0.99 ** e for e in range(n)]
    config = make_config({"train.lr": 0.00003, "data.train_limit": 256, "model.cnn.channels": [8],
                          "train.batch_size": 64})
    return write_run(runs_dir, "20261207-110000-cnn-mnist1d", config,
                     events(steady, steady, weight_norms=[10 + 1e-4 * e for e in range(n)]))


def test_runs_treat_trains_the_prescription_beside_the_runs_own_settings_and_judges_it(tmp_path):
    path = slow_run(tmp_path)
    args = ("runs", "treat", path.name, "--runs-dir", tmp_path, "--seeds", "2", "--epochs", "2", "--jobs", "1")
    code, out = invoke(*args)
    assert code == 0, out
    assert "treating 20261207-110000-cnn-mnist1d: learning rate too low; trying --lr 0.0003" in out
    assert out.count("seed") >= 4 and "as run" in out and "prescribed" in out
    lab_file = path / "treat-20261207-110000-cnn-mnist1d-lr_too_low.toml"
    assert lab_file.exists()
    [folder] = list(tmp_path.glob("lab-treat-20261207-110000-cnn-mnist1d-lr_too_low-*"))
    data = json.loads((folder / "lab.json").read_text())
    assert data["verdict"]["outcome"] and any("prescribed" in line for line in data["verdict"]["lines"])
    assert sorted({r["arm"] for r in data["results"]}) == ["as run", "prescribed"] and len(data["results"]) == 4
    code, again = invoke(*args)  # the same command: the lab is done, nothing trains again
    assert code == 0 and "[1/4]" not in again and folder.name in again
    outcome = TREATED.get(data["verdict"]["outcome"], data["verdict"]["outcome"])
    assert f"treatment of {path.name} (learning rate too low): {outcome}" in " ".join(again.split())
    code, listed = invoke("runs", "list", "--runs-dir", tmp_path, "--json")
    [record] = [r for r in json.loads(listed) if r["id"] == path.name]
    assert record["treated"] == outcome
    code, listed = invoke("runs", "list", "--runs-dir", tmp_path)
    assert f"treated: {outcome}" in " ".join(listed.split())


def test_runs_treat_refuses_what_it_cannot_treat_in_one_line(tmp_path):
    slow_run(tmp_path)
    for args, says in ((("--seeds", "1"), "at least 2 seeds"),
                       (("--finding", "overfitting"), "(its findings: lr_too_low)")):
        code, out = invoke("runs", "treat", "latest", "--runs-dir", tmp_path, *args)
        assert code == 2 and says in out and out.count("\n") == 1, out
    healthy = tmp_path / "healthy"
    n = 12
    val = [0.3 + 2.0 * 0.6 ** e for e in range(n)]
    write_run(healthy, "20261207-120000-cnn-mnist1d", make_config(), events(val, val, schedule="cosine"))
    code, out = invoke("runs", "treat", "latest", "--runs-dir", healthy)
    assert code == 2 and "nothing to treat" in out
    assert not list(tmp_path.rglob("treat-*.toml"))  # nothing written


def test_the_doctors_benchmark_runs_end_to_end_on_a_toy_budget(tmp_path):
    """bench/doctor.py on one sick case and one healthy preset, one epoch each: trained, diagnosed,
    treated (the prescription and a random change), the thresholds chosen on one half and scored
    on the other, and the record written. What it measures on the whole corpus is in its record."""
    import subprocess
    import sys

    from helpers import REPO

    env = {**__import__("os").environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(REPO / "bench" / "doctor.py"), "--toy", "--cases",
                           "lr-10x-high,digits-cnn", "--jobs", "2"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "doctor-toy.json").read_text())
    sick, healthy = report["cases"]["lr-10x-high"], report["cases"]["digits-cnn"]
    assert sick["sick"] and sick["first"] and sick["prescription"] and sick["random"] != sick["prescription"]
    assert set(sick["headline"]) == {"as-run", "prescribed", "random"} and sick["prescribed_vs_as_run"]
    assert sick["curve"]["name"] == "train_loss" and set(sick["curve"]["line"]) <= set("▁▂▃▄▅▆▇█ ")
    assert not healthy["sick"] and len(healthy["warnings"]) == 1
    assert len(report["held_out"]) == 2 and "named_first" in report["held_out"][0]["on_held_half"]
    assert "sick runs named first for their problem" in done.stdout


def test_sweep_prune_doctor_stops_the_trial_that_goes_wrong_and_lets_the_others_finish(tmp_path):
    """An LSTM without clipping, SGD at lr 1 (the rnn-clipping lab's sick arm) beside lr 0.01: the
    doctor stops the first once it is sure its loss is thrown off; the second trains to its end."""
    code, out = invoke("sweep", "lstm-mnist1d", "--grid", "train.lr=1.0,0.01", "--seeds", "1", "--epochs", "8",
                       "--jobs", "1", "--threads", "1", "--prune", "doctor", "--runs-dir", tmp_path,
                       "--set", "train.optimizer=sgd", "--set", "tricks.grad_clip.enabled=false",
                       "--set", "tricks.lr_schedule.enabled=false", "--set", "tricks.early_stopping.enabled=false",
                       "--set", "data.train_limit=600")
    assert code == 0, out
    [index] = list(tmp_path.glob("sweep-*/sweep.json"))
    results = {r["point"]: r for r in json.loads(index.read_text())["results"].values()}
    assert results["train.lr=1.0"]["status"] == "pruned", results
    assert results["train.lr=0.01"]["status"] == "completed"
    summary = json.loads((index.parent / Path(results["train.lr=1.0"]["run_dir"]).name / "summary.json").read_text())
    assert "pruned by the doctor after epoch" in summary["reason"] and summary["epochs_run"] < 8
    assert "learning rate too high" in summary["reason"] or "exploding gradients" in summary["reason"]
    code, out = invoke("sweep", "lstm-mnist1d", "--grid", "train.lr=1.0", "--prune", "asha-ish", "--runs-dir",
                       tmp_path)
    assert code == 2 and "--prune asha-ish: choose doctor" in out


def test_the_pruning_benchmark_runs_end_to_end_on_a_toy_budget(tmp_path):
    """bench/prune.py with no pruning and with the doctor's, on two LRs of which one (1.0, no BatchNorm)
    goes wrong: each sweep's steps, its pruned trials and its best finished trial are recorded."""
    import subprocess
    import sys

    from helpers import REPO

    env = {**__import__("os").environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(REPO / "bench" / "prune.py"), "--toy", "--modes", "none,doctor"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "prune-toy.json").read_text())
    none, doctor = report["modes"]["none"], report["modes"]["doctor"]
    assert len(none["trials"]) == len(doctor["trials"]) == 2 and none["pruned"] == [] and none["steps_saved"] == 0
    assert none["steps"] == sum(t["steps"] for t in none["trials"]) > 0
    assert none["best"]["lr"] == "0.003" and none["best"]["metric"] == "test_accuracy"
    pruned = [t for t in doctor["trials"] if t["status"] == "pruned"]
    assert all(t["lr"] == "1.0" and "pruned by the doctor" in t["reason"] for t in pruned)
    assert doctor["steps"] <= none["steps"] and "steps" in done.stdout and "saved" in done.stdout


def test_docs_doctor_md_shows_the_benchmarks_own_figures_and_curves():
    """The figures and the curves in docs/doctor.md are bench/results/doctor.json's, as written by bench/doctor.py."""
    import collections

    from helpers import REPO

    from tui_trainer.doctor.diagnose import TITLES

    report = json.loads((REPO / "bench" / "results" / "doctor.json").read_text())
    page = (REPO / "docs" / "doctor.md").read_text()
    sick = [e for e in report["cases"].values() if e["sick"]]
    named, runs = sum(e["named_first"] for e in sick), sum(len(e["first"]) for e in sick)
    assert f"| {named} of {runs} ({round(100 * named / runs)} %); " in page
    healthy = [w for e in report["cases"].values() if not e["sick"] for w in e["warnings"]]
    assert f"| {sum(1 for w in healthy if w)} of {len(healthy)} |" in page
    better = collections.Counter(e.get("prescribed_vs_as_run") for e in sick)
    assert f"| {better['better']} of {len(sick)} cases;" in page
    assert report["machine_short"].removeprefix("a ").replace(" (", " with ").rstrip(")") in page
    five = json.loads((REPO / "bench" / "results" / "doctor-5-seeds.json").read_text())  # bench/doctor.py --seeds 5
    sick5 = [e for e in five["cases"].values() if e["sick"]]
    named, runs = sum(e["named_first"] for e in sick5), sum(len(e["first"]) for e in sick5)
    assert five["seeds"] == [0, 1, 2, 3, 4] and f"| {named} of {runs} ({round(100 * named / runs)} %); " in page
    for key, words in (("prescribed_vs_as_run", " cases;"), ("prescribed_vs_random", ", no clear difference on")):
        assert f"| {collections.Counter(e.get(key) for e in sick5)['better']} of {len(sick5)}{words}" in page
    for name, entry in report["cases"].items():
        if entry["sick"] and "curve" in entry:
            curve = entry["curve"]
            assert f"| {TITLES[entry['expects'][0]]} | `{name}` |" in page and f"| `{curve['line']}` |" in page, name


def test_docs_doctor_md_shows_the_pruning_benchmarks_own_figures():
    """The table of `--prune doctor` against ASHA in docs/doctor.md is bench/results/prune.json's."""
    from helpers import REPO

    report = json.loads((REPO / "bench" / "results" / "prune.json").read_text())
    page = (REPO / "docs" / "doctor.md").read_text()
    rows = {"none": "| no pruning |", "doctor": "| `--prune doctor` |", "asha": "| `--scheduler asha` |",
            "asha + doctor": "| both |"}
    for mode, row in rows.items():
        entry = report["modes"][mode]
        line = next(line for line in page.splitlines() if line.startswith(row))
        saved = f" {round(100 * entry['steps_saved'])} % |" if mode != "none" else " |"
        assert line.startswith(f"{row} {entry['steps']:,} |{saved} {len(entry['pruned'])}"), line
        assert f"{entry['best']['test']:.3f}" in line, line
