"""Every bundled lab, run whole as a user would (`tui-trainer lab run NAME`, its own seeds and
settings, one run per core), one lab at a time: its wall time and its verdict.

It writes two files:
- `tui_trainer/presets/labs/reference.json`, shipped with the labs: each lab's seconds, seeds,
  file digest and verdict (outcome, headline, lines), with the machine and the date. `lab list`
  and the app show these times ("~3:30 ref") until a lab has run on the user's own machine
  (experiments/labs/reference.py); the doctor quotes the verdicts (doctor/measured.py);
- `bench/results/labs.json`: each lab's verdict (outcome, headline, lines) and table, the record
  docs/labs.md is written from.

    python bench/labs.py                       # all fifteen (about 20 minutes on 2 cores)
    python bench/labs.py overfitting lr-schedules   # some: merged into both files
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine, short_machine  # noqa: E402

from tui_trainer.experiments.labs import lab_paths, load_lab  # noqa: E402
from tui_trainer.experiments.labs.reference import REFERENCE, digest  # noqa: E402
from tui_trainer.experiments.labs.runner import LAB_JSON, cores  # noqa: E402

RECORD = Path(__file__).resolve().parent / "results" / "labs.json"


def run_lab(name: str) -> tuple[dict, str]:
    """One `tui-trainer lab run` process: its lab.json, and what it printed (the table and verdict)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "tui_trainer", "lab", "run", name, "--runs-dir", tmp],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"lab {name} failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
        folder = next(Path(tmp).glob(f"lab-{name}-*"))
        return json.loads((folder / LAB_JSON).read_text()), out.stdout


def read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labs", nargs="*", help="lab names (default: every bundled lab)")
    args = parser.parse_args()
    names = args.labs or list(lab_paths())
    when = {"machine": machine(), "machine_short": short_machine(), "date": datetime.date.today().isoformat(),
            "runs_at_once": cores()}
    reference, record = read(REFERENCE), read(RECORD)
    reference.update(when)
    record.update(when)
    for name in names:
        lab = load_lab(name)
        data, printed = run_lab(name)
        verdict = data.get("verdict") or {}
        reference.setdefault("labs", {})[name] = {"seconds": data["seconds"], "seeds": len(data["seeds"]),
                                                  "digest": digest(lab.path), "outcome": verdict.get("outcome"),
                                                  "headline": verdict.get("headline", ""),
                                                  "lines": verdict.get("lines", [])}
        record.setdefault("labs", {})[name] = {"seconds": data["seconds"], "seeds": data["seeds"],
                                               "skipped": data.get("skipped"), "verdict": verdict,
                                               "printed": printed.splitlines()}
        print(f"{name}: {verdict.get('outcome')}, {data['seconds']:.0f} s", flush=True)
        for path, content in ((REFERENCE, reference), (RECORD, record)):
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
