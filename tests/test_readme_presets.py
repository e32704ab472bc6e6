"""The README's preset table is what `python bench/presets.py` measured: each row's result cell
and the line under the table are made from the committed results file by the script's own
formatting, so a figure cannot be typed by hand or drift from the measurement."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_presets():
    spec = importlib.util.spec_from_file_location("bench_presets", ROOT / "bench" / "presets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_rows() -> dict[str, str]:
    """The preset table's rows: preset name -> its last cell."""
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([\w-]+)` \|.*\| (.+) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_offline_preset_in_the_readme_shows_its_measured_result():
    bench = bench_presets()
    results = json.loads(bench.RESULTS.read_text(encoding="utf-8"))
    rows = readme_rows()
    assert set(bench.OFFLINE) <= set(results["presets"]), "bench/presets.py has not measured every offline preset"
    for preset in bench.OFFLINE:
        runs = results["presets"][preset]
        assert sorted(run["seed"] for run in runs) == [0, 1, 2], preset
        assert rows.get(preset) == bench.cell(runs), f"README's {preset} row differs from bench/results/presets.json"
    assert bench.table_note(results) in (ROOT / "README.md").read_text(encoding="utf-8")
    for preset, cell in rows.items():  # the presets that need a download say so, with no figure of ours
        if preset not in bench.OFFLINE:
            assert "download" in cell or "the paper" in cell, (preset, cell)


def test_the_cell_says_what_the_runs_gave():
    bench = bench_presets()
    runs = [{"seed": s, "metric": "test_accuracy", "value": v, "status": "completed", "epochs_run": e,
             "wall_seconds": t, "baselines": [], "beaten": []}
            for s, v, e, t in [(0, 0.9751, 20, 40.2), (1, 0.9812, 20, 44.9), (2, 0.978, 18, 41.0)]]
    assert bench.cell(runs) == "test accuracy 0.975–0.981 (seeds 0–2), 18–20 epochs, 40 s–45 s"
    series = [{"seed": 0, "metric": "test_mae", "value": 0.474, "status": "completed", "epochs_run": 74,
               "wall_seconds": 95.0, "baselines": ["naive", "seasonal_naive"], "beaten": ["naive"]}]
    assert bench.cell(series) == ("test MAE 0.47 ppm (seed 0), 74 epochs, 1:35; seeds beating each baseline: "
                                  "naive 1 of 1, seasonal naive 0 of 1")
