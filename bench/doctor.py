"""The doctor's benchmark: its corpus (tui_trainer/doctor/corpus.py) of configurations made sick on
purpose and healthy bundled presets, each trained with `tui-trainer train` on a few seeds, then:

- the confusion table: for each sick case, the finding it should be named for, and what the
  doctor named first on each seed; for each healthy preset, any warning (a false alarm);
- the treatments: each sick case's prescription (the one most of its seeds got) and a change drawn
  at random from the same menu, trained on the same seeds; whether each beat the run's own
  settings by the labs' rule of "better" (tui_trainer/experiments/labs/stats.py), and whether the
  prescription beat the random change;
- held out: the thresholds chosen on one half of the cases (a pass over each threshold at half,
  once and twice its value) and scored on the other half, and the reverse.

    python bench/doctor.py                # seeds 0-2, two runs at a time
    python bench/doctor.py --toy --cases lr-10x-high,digits-cnn   # the pipeline end to end (tests)

It writes bench/results/doctor.json (with --seeds N other than 3, doctor-N-seeds.json beside it; with
--toy, doctor-toy.json in the temporary folder).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine, short_machine  # noqa: E402

from tui_trainer.config import replace  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.config.writer import toml_value  # noqa: E402
from tui_trainer.display import test_value  # noqa: E402
from tui_trainer.doctor import diagnose, read_trace  # noqa: E402
from tui_trainer.doctor import thresholds as T  # noqa: E402
from tui_trainer.doctor.corpus import HEALTHY, MENU, SICK, Case  # noqa: E402
from tui_trainer.doctor.prescriptions import wider  # noqa: E402
from tui_trainer.experiments.labs.spec import Rule  # noqa: E402
from tui_trainer.experiments.labs.stats import Stat, relation  # noqa: E402
from tui_trainer.runs.catalog import load_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TUNED = ("RISE", "RISE_OVER_NOISE", "FLAT", "HIGH", "SPIKE_FACTOR", "SLOPE_KEPT", "EXPLODE_FACTOR", "EXPLODE_GROWTH",
         "BOUNCE", "DEEP_PLAIN", "DEAD", "SATURATED_SHARE")


def train(preset: str, settings: dict, seed: int, folder: Path, toy: bool) -> Path | None:
    """One `tui-trainer train` process on one thread; its run folder (None when it made none). A
    folder kept by an earlier --keep that holds a finished run is read again, not trained again."""
    made = [p for p in folder.iterdir() if p.is_dir()] if folder.exists() else []
    if len(made) == 1 and (made[0] / "summary.json").exists() and kept(made[0], settings):
        return made[0]
    for old in made:  # a run of other settings (a prescription since changed) or one that did not finish
        shutil.rmtree(old)
    args = [sys.executable, "-m", "tui_trainer", "train", preset, "--seed", str(seed), "--threads", "1",
            "--runs-dir", str(folder), "--json"]
    for key, value in settings.items():
        args += ["--set", f"{key}={toml_value(value)}"]
    if toy:
        args += ["--epochs", "1"]
    subprocess.run(args, capture_output=True, text=True)
    made = [p for p in folder.iterdir() if p.is_dir()] if folder.exists() else []
    return made[0] if made else None


def kept(path: Path, settings: dict) -> bool:
    """Whether the run in ``path`` was trained with ``settings``: each one as its config.toml has it."""
    config = load_run(path).config
    if config is None:
        return False
    for key, value in settings.items():
        have = config
        for part in key.split("."):
            have = getattr(have, part)
        same = list(have) == list(value) if isinstance(value, (list, tuple)) else have == value
        if not same:
            return False
    return True


def train_all(jobs: list[tuple], root: Path, workers: int, toy: bool) -> dict[tuple, Path | None]:
    """Every (case name, arm, seed, preset, settings) job, ``workers`` at a time."""
    def one(job):
        name, arm, seed, preset, settings = job
        return job[:3], train(preset, settings, seed, root / name / arm / f"s{seed}", toy)

    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, jobs))


def first_finding(path: Path | None) -> tuple[str, list[str], dict | None]:
    """(the first finding's name or "", the warnings' names, the first prescription's change)."""
    if path is None:
        return "(no run)", [], None
    run = load_run(path)
    diagnosis = diagnose(read_trace(path, run.config), settings=False)
    findings = diagnosis.findings
    warnings = [f.name for f in findings if f.severity == "warning"]
    change = next((f.prescription.overrides for f in findings if f.prescription is not None), None)
    return (findings[0].name if findings else ""), warnings, change


#: The curve that shows each finding, for the picture of it in docs/doctor.md.
CURVE_OF = {"overfitting": "val_loss", "early_stopping_absent": "val_loss", "lr_too_high": "train_loss",
            "lr_too_low": "train_loss", "plateau": "train_loss", "schedule_too_short": "val_loss",
            "schedule_absent": "val_loss", "early_stopping_eager": "val_loss", "exploding_gradients": "grad_norm",
            "clipping_every_step": "grad_norm", "vanishing_gradients": "train_loss", "weights_growing": "weight_norm",
            "dead_relu": "dead", "saturated": "saturated", "collapse": "val_loss", "scaler_overflow": "train_loss"}
BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 30, scale: tuple[float, float] | None = None) -> str:
    """A curve in eight heights of block, at most ``width`` points (evenly picked), a non-finite point a
    gap. ``scale``: the values at the lowest and the highest block; by default from the curve's lowest
    value to its 90th percentile, higher points a full block, so that the first epochs' fall does not
    flatten the rest of the curve."""
    if len(values) > width:
        values = [values[round(i * (len(values) - 1) / (width - 1))] for i in range(width)]
    finite = sorted(v for v in values if v is not None and math.isfinite(v))
    if not finite:
        return ""
    low, high = scale or (finite[0], finite[min(len(finite) - 1, round(0.9 * (len(finite) - 1)))])

    def bar(v: float) -> str:
        share = 0.0 if high == low else min(1.0, max(0.0, (v - low) / (high - low)))
        return BARS[round(share * (len(BARS) - 1))]

    return "".join(" " if v is None or not math.isfinite(v) else bar(v) for v in values)


def curve(trace, name: str) -> list[float]:
    """A run's curve by name: per epoch (the losses, the median gradient norm, the weight norm) or per
    probe reading (the most dead, or saturated, layer's share)."""
    if name in ("dead", "saturated"):
        return [max(getattr(a, name).values(), default=0.0) for a in trace.activations]
    if name == "grad_norm":
        return [statistics.median(n) if (n := trace.epoch_steps(e.epoch)) else float("nan") for e in trace.epochs]
    if name == "weight_norm":
        return [e.weight_norm or float("nan") for e in trace.epochs]
    return getattr(trace, name)


def headline(path: Path | None) -> tuple[float | None, str]:
    summary = load_run(path).summary if path is not None else {}
    value = test_value(summary, summary.get("headline") or "test_accuracy")
    if value is None and summary.get("status") == "diverged":
        value = float("-inf") if summary.get("headline_mode", "max") == "max" else float("inf")
    return value, summary.get("headline_mode", "max")


def random_change(case: Case, doctor: dict, rng: random.Random) -> dict:
    """A change drawn from the doctor's menu, not the doctor's own."""
    config = replace(load_preset(case.preset)[0], case.settings)
    options = []
    for key, factor in MENU:
        if key == "train.lr*":
            change = {"train.lr": float(f"{config.train.lr * factor:.2g}")}
        elif key == "train.epochs*":
            change = {"train.epochs": config.train.epochs * factor}
        elif key == "model.width*":
            change = wider(config.model, factor)
        elif key == "model.lstm.cell":
            if config.model.kind != "lstm" or config.model.lstm.cell == factor:
                continue
            change = {key: factor}
        else:
            trick = key.split(".")[1]
            change = {key: not getattr(config.tricks, trick).enabled}
        if change != doctor:
            options.append(change)
    return rng.choice(options)


def compare(a: list, ref: list, goal: str) -> str:
    stat = lambda values: Stat([v for v in values if v is not None])  # noqa: E731
    return relation(stat(a), stat(ref), Rule("compare", "headline", goal))


# -- the thresholds, chosen on one half and scored on the other -----------------------------------


def score(cases: list[Case], traces: dict, values: dict[str, float]) -> dict:
    """With ``values`` for the thresholds: the sick runs named first for their problem, and the
    healthy runs with a warning, as shares."""
    saved = {name: getattr(T, name) for name in values}
    try:
        for name, value in values.items():
            setattr(T, name, value)
        hits = sick = alarms = healthy = 0
        for case in cases:
            for trace in traces.get(case.name, []):
                findings = diagnose(trace, settings=False).findings
                if case.sick:
                    sick += 1
                    hits += bool(findings) and findings[0].name in case.expects
                else:
                    healthy += 1
                    alarms += any(f.severity == "warning" for f in findings)
    finally:
        for name, value in saved.items():
            setattr(T, name, value)
    named, alarm = hits / max(1, sick), alarms / max(1, healthy)
    return {"named_first": named, "false_alarms": alarm, "score": named - alarm}


def choose(cases: list[Case], traces: dict) -> dict[str, float]:
    """One pass over the thresholds: each at half, once or twice its value, the best score kept."""
    chosen = {name: getattr(T, name) for name in TUNED}
    for name in TUNED:
        base = chosen[name]
        tries = [type(base)(base * f) for f in (0.5, 1.0, 2.0)]
        best = max(tries, key=lambda v: (score(cases, traces, {**chosen, name: v})["score"], v == base))
        chosen[name] = best
    return chosen


def held_out(cases: list[Case], traces: dict) -> list[dict]:
    halves = ([c for i, c in enumerate(cases) if i % 2 == 0], [c for i, c in enumerate(cases) if i % 2 == 1])
    out = []
    for fit, held in (halves, halves[::-1]):
        chosen = choose(fit, traces)
        defaults = {name: getattr(T, name) for name in TUNED}
        out.append({"chosen_on": [c.name for c in fit], "scored_on": [c.name for c in held],
                    "thresholds": {k: v for k, v in chosen.items() if v != defaults[k]},
                    "on_chosen_half": score(fit, traces, chosen), "on_held_half": score(held, traces, chosen),
                    "held_half_with_defaults": score(held, traces, defaults)})
    return out


# -- the whole benchmark ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each")
    parser.add_argument("--toy", action="store_true", help="one seed, one epoch each: the pipeline only")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder (default: deleted)")
    args = parser.parse_args()
    seeds = list(range(1 if args.toy else args.seeds))
    import torch

    wanted = set(filter(None, args.cases.split(",")))
    known = {c.name for c in (*SICK, *HEALTHY)}
    if wanted - known:
        raise SystemExit(f"unknown cases: {sorted(wanted - known)} (known: {sorted(known)})")
    cases = [c for c in (*SICK, *HEALTHY) if (c.needs != "cuda" or torch.cuda.is_available())
             and (not wanted or c.name in wanted)]
    skipped = [c.name for c in (*SICK, *HEALTHY) if c not in cases and (not wanted or c.name in wanted)]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        runs = train_all([(c.name, "as-run", s, c.preset, c.settings) for c in cases for s in seeds], root,
                         args.jobs, args.toy)
        report = {"machine": machine(), "machine_short": short_machine(), "date": datetime.date.today().isoformat(),
                  "seeds": seeds, "toy": args.toy, "skipped": skipped, "cases": {}}
        traces: dict[str, list] = {}
        plans = []
        for case in cases:
            seen = [first_finding(runs[(case.name, "as-run", s)]) for s in seeds]
            made = [p for s in seeds if (p := runs[(case.name, "as-run", s)]) is not None]
            traces[case.name] = [read_trace(p, load_run(p).config) for p in made]
            entry = {"sick": case.sick, "expects": list(case.expects), "why": case.why,
                     "first": [f for f, _, _ in seen], "warnings": [w for _, w, _ in seen]}
            if case.sick and traces[case.name]:  # seed 0's curve that shows the finding, for docs/doctor.md
                shown = CURVE_OF.get(case.expects[0], "val_loss")
                shares = (0.0, 1.0) if shown in ("dead", "saturated") else None  # a share: on its own scale
                values = [v for v in curve(traces[case.name][0], shown) if math.isfinite(v)]
                entry["curve"] = {"name": shown, "line": sparkline(curve(traces[case.name][0], shown), scale=shares),
                                  "first": values[0] if values else None, "last": values[-1] if values else None,
                                  "low": min(values, default=None), "high": max(values, default=None)}
            if case.sick:
                entry["named_first"] = sum(f in case.expects for f, _, _ in seen)
                changes = collections.Counter(json.dumps(c, sort_keys=True) for _, _, c in seen if c)
                if changes:
                    doctor = json.loads(changes.most_common(1)[0][0])
                    drawn = random_change(case, doctor, random.Random(case.name))
                    entry["prescription"], entry["random"] = doctor, drawn
                    plans += [(case.name, arm, s, case.preset, {**case.settings, **entry[key]}) for s in seeds
                              for arm, key in (("prescribed", "prescription"), ("random", "random"))]
            report["cases"][case.name] = entry
        treated = train_all(plans, root, args.jobs, args.toy)
        for case in cases:
            entry = report["cases"][case.name]
            if "prescription" not in entry:
                continue
            arms = {arm: [headline(treated.get((case.name, arm, s)) if arm != "as-run" else runs[(case.name, arm, s)])
                          for s in seeds] for arm in ("as-run", "prescribed", "random")}
            goal = next((g for arm in arms.values() for _, g in arm), "max")
            values = {arm: [v for v, _ in pairs] for arm, pairs in arms.items()}
            entry["headline"] = values
            entry["prescribed_vs_as_run"] = compare(values["prescribed"], values["as-run"], goal)
            entry["random_vs_as_run"] = compare(values["random"], values["as-run"], goal)
            entry["prescribed_vs_random"] = compare(values["prescribed"], values["random"], goal)
        report["held_out"] = held_out(cases, traces)
    summarise(report)
    name = "doctor.json" if args.seeds == 3 else f"doctor-{args.seeds}-seeds.json"  # the 3, else beside it
    out = Path(tempfile.gettempdir()) / "doctor-toy.json" if args.toy else RESULTS / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"\nwritten: {out}")


def summarise(report: dict) -> None:
    cases = report["cases"]
    print(f"{'case':<22} {'expects':<34} first finding on each seed")
    for name, entry in cases.items():
        expects = " or ".join(entry["expects"]) if entry["sick"] else "(healthy: no warning)"
        said = ", ".join(f or "nothing" for f in entry["first"]) if entry["sick"] else \
            ", ".join("+".join(w) or "no warning" for w in entry["warnings"])
        print(f"{name:<22} {expects:<34} {said}")
    sick = [e for e in cases.values() if e["sick"]]
    named = sum(e["named_first"] for e in sick) / max(1, sum(len(e["first"]) for e in sick))
    alarms = [w for e in cases.values() if not e["sick"] for w in e["warnings"] if w]
    print(f"\nsick runs named first for their problem: {named:.0%}; healthy runs with a warning: {len(alarms)}")
    treated = [e for e in sick if "prescribed_vs_as_run" in e]
    for key, words in (("prescribed_vs_as_run", "the prescription better than the run's own settings"),
                       ("random_vs_as_run", "the random change better than the run's own settings"),
                       ("prescribed_vs_random", "the prescription better than the random change")):
        better = sum(e[key] == "better" for e in treated)
        print(f"{words}: {better} of {len(treated)}")
    for half in report["held_out"]:
        print(f"held out: chosen on {len(half['chosen_on'])} cases {half['thresholds'] or '(the defaults)'}: "
              f"{half['on_chosen_half']['score']:.2f} there, {half['on_held_half']['score']:.2f} on the other half "
              f"(defaults there: {half['held_half_with_defaults']['score']:.2f})")


if __name__ == "__main__":
    main()
