"""The README's preset table, measured: each bundled preset that needs no download trained as a
user would (`tui-trainer train PRESET --seed S --threads 1`, a process each, one at a time), on
seeds 0-2, its headline test metric, epochs and wall time kept in `bench/results/presets.json`
with the machine and the date. `--table` prints the table's result cells from that file;
tests/test_readme_presets.py checks that the README shows exactly those.

    python bench/presets.py                          # every offline preset, seeds 0-2 (about an hour)
    python bench/presets.py digits-cnn --seeds 0 1   # some of them: merged into the file
    python bench/presets.py --table                  # the README's cells, from the file
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from headless import train_summary  # noqa: E402
from machine import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "presets.json"
OFFLINE = ["cnn-mnist1d", "lstm-mnist1d", "gru-mnist1d", "resnet-mnist1d", "digits-cnn", "digits-optimized-cnn",
           "lstm-text", "text-optimized-rnn", "transformer-text", "lstm-co2"]
# how each headline metric reads in the table: its words, its digits, its unit
METRICS = {"test_accuracy": ("test accuracy", 3, ""), "test_bits_per_char": ("test", 3, " bits/char"),
           "test_mae": ("test MAE", 2, " ppm")}


def train(preset: str, seed: int) -> dict:
    """One `tui-trainer train` process; what the table needs of its summary."""
    summary = train_summary(preset, "--seed", str(seed), "--threads", "1")
    key = summary["headline"]
    value = summary.get(key, (summary.get("test_metrics") or {}).get(key))
    lower = summary["headline_mode"] == "min"
    beaten = [name for name, scores in (summary.get("baselines") or {}).items() if scores.get(key) is not None
              and (value < scores[key] if lower else value > scores[key])]
    return {"seed": seed, "metric": key, "value": value, "status": summary["status"],
            "epochs_run": summary["epochs_run"], "wall_seconds": summary["wall_seconds"],
            "baselines": sorted((summary.get("baselines") or {})), "beaten": sorted(beaten)}


def span(values: list[float], digits: int) -> str:
    """``0.975`` or ``0.975-0.981``, at the digits given (an en dash between the ends)."""
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return low if low == high else f"{low}–{high}"


def seconds_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def cell(runs: list[dict]) -> str:
    """The table's result cell for one preset's runs: ``test accuracy 0.975–0.981 (seeds 0–2), 20 epochs,
    40 s–45 s``, and for a model with baselines, how many seeds beat each."""
    words, digits, unit = METRICS[runs[0]["metric"]]
    seeds = sorted(run["seed"] for run in runs)
    epochs = [run["epochs_run"] for run in runs]
    times = sorted(run["wall_seconds"] for run in runs)
    epochs_text = f"{min(epochs)}" if min(epochs) == max(epochs) else f"{min(epochs)}–{max(epochs)}"
    time_text = seconds_text(times[0]) if seconds_text(times[0]) == seconds_text(times[-1]) \
        else f"{seconds_text(times[0])}–{seconds_text(times[-1])}"
    seeds_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    text = (f"{words} {span([run['value'] for run in runs], digits)}{unit} ({seeds_text}), "
            f"{epochs_text} epochs, {time_text}")
    wins = [f"{name.replace('_', ' ')} {sum(name in run['beaten'] for run in runs)} of {len(runs)}"
            for name in runs[0]["baselines"]]
    return text + (f"; seeds beating each baseline: {', '.join(wins)}" if wins else "")


def table_note(results: dict) -> str:
    """The line under the table that says where and how its figures were measured."""
    return (f"Measured by `python bench/presets.py` on {results['machine']}, {results['date']}, "
            f"one thread, Python {results['python']}.")


def load() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"presets": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=OFFLINE)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--table", action="store_true", help="print the README's cells from the file and stop")
    args = parser.parse_args()
    results = load()
    if not args.table:
        results.update(machine=machine(), date=datetime.date.today().isoformat(),
                       python=f"{sys.version_info.major}.{sys.version_info.minor}")
        for preset in args.presets:
            runs = [train(preset, seed) for seed in args.seeds]
            results["presets"][preset] = runs
            print(f"{preset}: {cell(runs)}", flush=True)
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    for preset, runs in results["presets"].items():
        print(f"| `{preset}` | {cell(runs)} |")
    print(table_note(results))


if __name__ == "__main__":
    main()
