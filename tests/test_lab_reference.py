"""A lab's expected time on a fresh machine: the committed reference measurement (bench/labs.py),
marked as such, until the lab has run here; then the time measured here."""

from __future__ import annotations

import json

from test_labs import write_lab
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.experiments.labs import load_lab
from tui_trainer.experiments.labs import reference as ref
from tui_trainer.experiments.labs.spec import BUNDLED_LABS


def use_reference(monkeypatch, path, labs: dict):
    path.write_text(json.dumps({"machine": "Some CPU, 2 cores", "machine_short": "a 2-core Test CPU (AMX)",
                                "date": "2026-12-07", "labs": labs}))
    monkeypatch.setattr(ref, "REFERENCE", path)
    ref._load.cache_clear()


def test_every_bundled_lab_has_a_reference_time_for_its_current_file():
    ref._load.cache_clear()
    data = ref.reference()
    assert data.get("machine") and data.get("date") and data.get("machine_short")
    for path in sorted(BUNDLED_LABS.glob("*.toml")):  # the shipped ones (a user's own labs have none)
        name = path.stem
        entry = data["labs"].get(name)
        assert entry is not None, f"{name}: no reference time (python bench/labs.py {name})"
        assert entry["digest"] == ref.digest(path), f"{name} changed since it was measured: python bench/labs.py {name}"
        assert entry["seconds"] > 0 and entry["seeds"] == load_lab(path, check_configs=False).seeds


def test_the_reference_time_until_the_lab_has_run_here(tmp_path, monkeypatch):
    lab = load_lab(write_lab(tmp_path))  # two arms of 2 epochs, 2 seeds
    use_reference(monkeypatch, tmp_path / "reference.json",
                  {"toy": {"seconds": 210.0, "seeds": 2, "digest": ref.digest(lab.path), "outcome": "holds"}})
    runs = tmp_path / "runs"
    fresh = ref.expected(lab, runs)
    assert (fresh.seconds, fresh.cell(), fresh.text()) == (
        210.0, "~3:30 ref", "about 3:30 on a 2-core Test CPU (AMX), not run here yet")
    assert ref.expected(lab, runs, seeds=4).seconds == 420.0  # scaled by the seeds
    assert ref.expected(lab, runs, extra={"train.epochs": 6}) is None  # settings of the user's: nothing to go by
    assert ref.expected(lab, runs, extra={"train.threads": 1}).seconds == 210.0
    lab.path.write_text(lab.path.read_text() + "\n# edited\n")
    assert ref.expected(lab, runs) is None  # a lab file changed since it was measured

    lab = load_lab(write_lab(tmp_path))
    folder = runs / "lab-toy-0000"
    folder.mkdir(parents=True)
    results = [{"arm": arm, "value": None, "seed": seed, "status": "completed", "metrics": {"wall_seconds": 5.0}}
               for arm in ("plain", "dropout") for seed in (0, 1)]
    (folder / "lab.json").write_text(json.dumps({"lab": "toy", "results": results, "seconds": 10.0, "extra": {}}))
    here = ref.expected(lab, runs)  # ran here: the time measured here, whatever the reference says
    assert (here.seconds, here.cell(), here.text()) == (10.0, "~0:10", "about 0:10, as measured here")


def test_lab_list_on_a_fresh_machine_marks_the_reference_times(tmp_path, monkeypatch):
    ref._load.cache_clear()
    result = CliRunner().invoke(app, ["lab", "list", "--runs-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = ref.reference()
    row = next(line for line in result.output.splitlines() if line.startswith("overfitting "))
    assert row.rstrip().endswith(" ref") and "not run" not in row
    assert f"ref: not run here yet; the time it took on {data['machine_short']}, {data['date']}" in result.output
