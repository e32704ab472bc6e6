"""Looking at runs afterwards: list, show, compare, plot and CSV export, through the CLI."""

import csv
import io
from pathlib import Path

import pytest
from helpers import make_config
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.engine.trainer import Trainer
from tui_trainer.runs import RunFolder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_data):
    runs_dir = tmp_path_factory.mktemp("runs")
    base = make_config({"train.epochs": 2})
    a = Trainer(base, data=small_data, run_folder=RunFolder.create(runs_dir, "alpha")).run()
    b = Trainer(make_config({"train.epochs": 2, "tricks.batchnorm.enabled": False, "train.lr": 0.01}),
                data=small_data, run_folder=RunFolder.create(runs_dir, "beta")).run()
    killed = RunFolder.create(runs_dir, "gamma")  # a run killed before its summary
    killed.write_config(base)
    return runs_dir, Path(a.run_dir), Path(b.run_dir), a.summary


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_list_shows_every_run_with_its_results(runs):
    runs_dir, a, b, summary = runs
    code, out = invoke("runs", "list", "--runs-dir", runs_dir)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("2")}
    assert set(lines) == {a.name, b.name, next(p.name for p in runs_dir.iterdir() if p.name.endswith("gamma"))}
    assert f"{summary['test_accuracy']:.4f}" in lines[a.name] and "completed" in lines[a.name]
    assert "BN" in lines[a.name] and "BN" not in lines[b.name]
    assert "interrupted" in next(line for key, line in lines.items() if key.endswith("gamma"))


def test_show_and_compare(runs):
    runs_dir, a, b, summary = runs
    code, out = invoke("runs", "show", "alpha", "--runs-dir", runs_dir)
    assert code == 0 and str(a) in out and f"{summary['best_val_loss']:.4f}" in out and "last.pt" in out
    code, out = invoke("runs", "compare", "alpha", "beta", "--runs-dir", runs_dir)
    assert code == 0
    differ = out.split("results:")[0]
    assert "tricks.batchnorm.enabled" in differ and "train.lr" in differ and "train.epochs" not in differ
    code, out = invoke("runs", "compare", "alpha", "--runs-dir", runs_dir)
    assert code == 2 and "two or more" in out


def test_plot_writes_a_png(runs, tmp_path):
    runs_dir, a, b, _ = runs
    out = tmp_path / "curves.png"
    code, text = invoke("runs", "plot", a, b, "-o", out)
    assert code == 0, text
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    code, text = invoke("runs", "plot", a, "-o", tmp_path / "curves.jpg")
    assert code == 2 and ".png" in text


def test_export_csv_per_step_and_per_epoch(runs, tmp_path):
    runs_dir, a, _, summary = runs
    code, out = invoke("runs", "export", a)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == summary["steps"] and [int(r["step"]) for r in rows] == list(range(1, summary["steps"] + 1))
    target = tmp_path / "epochs.csv"
    code, _ = invoke("runs", "export", a, "--per-epoch", "-o", target)
    epochs = list(csv.DictReader(target.open()))
    assert code == 0 and len(epochs) == 2
    assert min(float(e["val_loss"]) for e in epochs) == pytest.approx(summary["best_val_loss"])


def test_unknown_or_ambiguous_runs_are_clear_errors(runs, tmp_path):
    runs_dir, *_ = runs
    code, out = invoke("runs", "show", "nothing-like-this", "--runs-dir", runs_dir)
    assert code == 2 and "no run matches" in out
    code, out = invoke("runs", "show", "-", "--runs-dir", runs_dir)
    assert code == 2 and "matches 3 runs" in out
    code, out = invoke("runs", "list", "--runs-dir", tmp_path / "none")  # nothing trained there yet: not a mistake
    assert code == 0 and out.startswith(f"no runs in {tmp_path / 'none'} yet")
    code, out = invoke("runs", "show", "latest", "--runs-dir", tmp_path / "none")
    assert code == 2 and "no runs in" in out and "so none is 'latest'" in out and "runs list" not in out
    code, out = invoke("runs", "export", next(p for p in runs_dir.iterdir() if p.name.endswith("gamma")))
    assert code == 2 and "never started" in out


def test_run_ids_are_found_without_reading_the_runs(runs, tmp_path):
    from tui_trainer.runs.catalog import run_ids, scan_runs

    runs_dir, *_ = runs
    assert run_ids(runs_dir) == [r.id for r in scan_runs(runs_dir)]
    ablation = tmp_path / "20260101-000000-ablate-x"
    (ablation / "20260101-000001-x.baseline.s0").mkdir(parents=True)
    (ablation / "20260101-000001-x.baseline.s0" / "config.toml").write_text("")
    (ablation / "ablation.json").write_text("{}")
    (tmp_path / "not-a-run").mkdir()
    assert run_ids(tmp_path) == ["20260101-000001-x.baseline.s0"]
    assert run_ids(tmp_path / "missing") == []


def test_runs_plot_draws_runs_of_the_same_settings_over_seeds_as_one_band(tmp_path, small_data):
    pytest.importorskip("matplotlib")
    from helpers import make_config

    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.catalog import load_run
    from tui_trainer.runs.plot import plot_runs, seed_groups

    paths = []
    for name, overrides in (("s0", {"train.seed": 0}), ("s1", {"train.seed": 1}), ("other", {"train.lr": 0.01})):
        result = Trainer(make_config({"train.epochs": 2, **overrides}), data=small_data,
                         run_folder=RunFolder.create(tmp_path, name)).run()
        paths.append(result.run_dir)
    runs = [load_run(p) for p in paths]
    assert seed_groups(runs) == [[0, 1], [2]]  # the seed (and the name) alone differ between the first two
    out = plot_runs(runs, tmp_path / "seeds.png")
    assert out.stat().st_size > 20_000


def test_latest_is_the_run_that_began_training_last_among_plain_and_experiment_runs(tmp_path):
    """A lab's runs are named after their arm and sort after dated ids; `latest` goes by when a run
    began training, inside a lab or a sweep folder as beside them."""
    import json
    import os

    from helpers import synthetic_events, write_run

    runs_dir = tmp_path / "runs"
    config = make_config({"train.epochs": 2})
    events = synthetic_events(epochs=2)
    lab = runs_dir / "lab-overfitting-0000"
    sweep = runs_dir / "sweep-lr-0000"
    paths = {"lab": write_run(lab, "weight-decay-s0", config, events),
             "sweep": write_run(sweep, "lr0.01-s0", config, events),
             "old": write_run(runs_dir, "20261201-090000-cnn-mnist1d", config, events),
             "plain": write_run(runs_dir, "20261207-120000-digits-cnn", config, events)}
    (lab / "lab.json").write_text(json.dumps({"lab": "overfitting"}))
    (sweep / "sweep.json").write_text(json.dumps({"trials": []}))
    for n, name in enumerate(["old", "lab", "sweep", "plain"]):  # the order they began training in
        os.utime(paths[name] / "config.toml", ns=(10**18 + n * 10**9, 10**18 + n * 10**9))
    code, out = invoke("runs", "show", "latest", "--runs-dir", runs_dir)
    assert code == 0 and str(paths["plain"]) in out, out
    code, out = invoke("runs", "list", "--runs-dir", runs_dir)  # in the order they began: latest last
    order = [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in {
        p.name for p in paths.values()}]
    assert order == [paths[name].name for name in ("old", "lab", "sweep", "plain")], out
    os.utime(paths["lab"] / "config.toml", ns=(10**18 + 9 * 10**9, 10**18 + 9 * 10**9))  # the lab's run resumed
    code, out = invoke("runs", "show", "latest", "--runs-dir", runs_dir)
    assert code == 0 and str(paths["lab"]) in out, out


def test_every_command_that_prints_data_takes_json(runs, tmp_path):
    import json

    runs_dir, a, b, summary = runs
    code, out = invoke("runs", "list", "--runs-dir", runs_dir, "--json")
    listed = json.loads(out)
    assert code == 0 and {r["id"] for r in listed} >= {a.name, b.name}
    assert next(r for r in listed if r["id"] == a.name)["summary"]["test_accuracy"] == summary["test_accuracy"]
    assert next(r for r in listed if r["id"].endswith("gamma"))["status"] == "interrupted"
    code, out = invoke("runs", "show", "alpha", "--runs-dir", runs_dir, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["path"] == str(a) and shown["config"]["train"]["epochs"] == 2
    assert {"config.toml", "summary.json", "metrics.jsonl"} <= set(shown["files"])
    code, out = invoke("runs", "compare", "alpha", "beta", "--runs-dir", runs_dir, "--json")
    compared = json.loads(out)
    assert code == 0 and compared["settings_that_differ"]["train.lr"][1] == 0.01
    assert "train.epochs" not in compared["settings_that_differ"] and len(compared["runs"]) == 2
    code, out = invoke("presets", "show", "digits-cnn", "--set", "train.lr=0.02", "--json")
    assert code == 0 and json.loads(out)["config"]["train"]["lr"] == 0.02
    code, out = invoke("lab", "show", "--runs-dir", tmp_path, "--json")  # no lab folder: one line, as without --json
    assert code == 2 and out.startswith("error: no lab folder")


def test_plot_compare_and_export_take_what_their_neighbours_take(runs, tmp_path, monkeypatch):
    """runs plot without -o writes beside you, named after the runs; runs compare takes a lab's
    folder as runs plot does; export refuses --per-epoch with --tensorboard instead of ignoring it."""
    import json

    runs_dir, a, b, _ = runs
    monkeypatch.chdir(tmp_path)
    code, text = invoke("runs", "plot", a, "--runs-dir", runs_dir)
    assert code == 0 and (tmp_path / f"{a.name}.png").stat().st_size > 10_000, text
    lab = tmp_path / "lab-toy-0000"
    lab.mkdir()
    (lab / "lab.json").write_text(json.dumps({"lab": "toy"}))
    import shutil

    for run in (a, b):
        shutil.copytree(run, lab / run.name)
    code, out = invoke("runs", "compare", lab, "--json")
    assert code == 0 and len(json.loads(out)["runs"]) == 2, out
    code, out = invoke("runs", "export", a, "--per-epoch", "--tensorboard", tmp_path / "tb")
    assert code == 2 and "drop --per-epoch" in out and not (tmp_path / "tb").exists()
