"""Training throughput of a run started in the app, against the same run headless, and what the
app itself costs while it draws the run live.

For each thread setting, alternates a headless run (`tui-trainer train ... --json`, a process of
its own, exactly as a user starts it) and a run started in the app (Textual headless, 120x40, its
10 Hz drain and redraws live; the run trains in the app's worker process). During the app's
run (from half a second after its first step to its last step) a key event is posted every
200 ms and the time until the app handles it is recorded, with the CPU time the app's own process
used (this process: it never imports torch), its redraws per second, and how long each batch of
events took from its emission in the worker to its arrival in the app. Prints, per thread
setting, the median samples/s ratio app/headless, the key latency median and p95, the app's CPU
share of one core, the event lag, and the app's peak memory.

    python bench/tui.py                                  # cnn-mnist1d, threads default,1,2, 3 pairs each
    python bench/tui.py lstm-mnist1d --epochs 2 --threads 1 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from tui_trainer.tui import TrainerApp  # noqa: E402
from tui_trainer.tui.widgets.monitor import Monitor  # noqa: E402
from tui_trainer.tui.widgets.settings_panel import SettingsPanel  # noqa: E402

PROBE_KEY = "f12"
#: A probe key this often while the run trains: five keys a second, faster than anyone types for long.
KEY_SECONDS = 0.2


class ProbedApp(TrainerApp):
    """The app, recording when a probe key reaches its key handler."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handled: list[float] = []
        self.key_seen = asyncio.Event()

    def on_key(self, event: events.Key) -> None:
        if event.key == PROBE_KEY:
            self.handled.append(time.perf_counter())
            self.key_seen.set()


def settings(preset: str, epochs: int, threads: int | None) -> list[str]:
    """The command-line settings both runs share: early stopping off, so both train every epoch."""
    args = [preset, "--epochs", str(epochs), "--no-early-stopping"]
    return args + (["--threads", str(threads)] if threads is not None else [])


def train_process(args: list[str], runs_dir: Path) -> str:
    """The JSON lines `tui-trainer train ARGS --json` prints, run as a process of its own."""
    command = [sys.executable, "-m", "tui_trainer", "train", *args, "--json", "--runs-dir", str(runs_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def headless(preset: str, epochs: int, threads: int | None, runs_dir: Path) -> float:
    """samples/s of `tui-trainer train` in a process of its own."""
    out = train_process(settings(preset, epochs, threads), runs_dir)
    ended = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"run_ended"' in line]
    return ended[-1]["summary"]["train_samples_per_second"]


async def in_app(preset: str, epochs: int, threads: int | None, runs_dir: Path) -> dict:
    app = ProbedApp(preset, runs_dir=runs_dir, threads=threads)
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.torch_info is None:  # the worker is up and has described the settings
            await pilot.pause(0.05)
        panel = app.query_one(SettingsPanel)
        panel.set_value("train.epochs", epochs)
        panel.set_value("tricks.early_stopping.enabled", False)
        await pilot.pause(0.1)
        monitor = app.query_one(Monitor)
        app.action_start()
        while monitor.steps_done == 0 or monitor.started is None:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # past the start (the settings restyled as they lock): the steady state from here
        total = monitor.started.epochs * monitor.started.steps_per_epoch
        redraws0, t0, cpu0 = monitor.redraws, time.perf_counter(), time.process_time()
        while app.training and monitor.steps_done < total:  # to the last step: not the test split or the unlocking
            app.key_seen.clear()
            sent = time.perf_counter()
            app.post_message(events.Key(PROBE_KEY, None))
            try:
                await asyncio.wait_for(app.key_seen.wait(), 5)
                latencies.append(app.handled[-1] - sent)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(KEY_SECONDS)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        redraws = monitor.redraws - redraws0
        while not app.session.finished.is_set():
            await asyncio.sleep(0.05)
        await pilot.pause(0.2)
        session = app.session
        rate = session.summary["train_samples_per_second"]
        lags = list(session.lags)
    return {"rate": rate, "latencies": latencies, "redraws_per_second": redraws / seconds, "cpu_share": cpu / seconds,
            "lags": lags}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", default="cnn-mnist1d")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=str, default="default,1,2",
                        help="comma-separated: default (the preset's, as train) or a number")
    args = parser.parse_args()
    settings_list = [None if t == "default" else int(t) for t in args.threads.split(",")]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        train_process(settings(args.preset, 1, 1), runs)  # the data cache, once, outside the timings
        for threads in settings_list:
            label = "default" if threads is None else str(threads)
            ratios, latencies, redraws, shares, lags = [], [], [], [], []
            for rep in range(args.repeats):
                if rep % 2 == 0:
                    h = headless(args.preset, args.epochs, threads, runs)
                    a = asyncio.run(in_app(args.preset, args.epochs, threads, runs))
                else:
                    a = asyncio.run(in_app(args.preset, args.epochs, threads, runs))
                    h = headless(args.preset, args.epochs, threads, runs)
                ratios.append(a["rate"] / h)
                latencies.extend(a["latencies"])
                redraws.append(a["redraws_per_second"])
                shares.append(a["cpu_share"])
                lags.extend(a["lags"])
                print(f"threads {label} pair {rep + 1}: headless {h:,.0f} samples/s, app {a['rate']:,.0f} samples/s, "
                      f"ratio {ratios[-1]:.3f}, app CPU {a['cpu_share']:.1%} of a core, "
                      f"{a['redraws_per_second']:.1f} redraws/s", flush=True)
            ms = [x * 1000 for x in latencies]
            lag_ms = [x * 1000 for x in lags]
            lines.append(
                f"{args.preset} threads {label}: app/headless samples/s {statistics.median(ratios):.3f} "
                f"(pairs {min(ratios):.3f}-{max(ratios):.3f}), key latency median {statistics.median(ms):.1f} ms "
                f"p95 {pct(ms, 0.95):.1f} ms ({len(ms)} keys), app CPU {statistics.median(shares):.1%} of a core "
                f"at {statistics.median(redraws):.1f} redraws/s, "
                f"event lag median {statistics.median(lag_ms):.0f} ms p95 {pct(lag_ms, 0.95):.0f} ms"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch_in = "torch" in sys.modules
    print(f"the app's process: peak RSS {peak:.0f} MB, torch imported: {torch_in}; {os.cpu_count()} cores")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
