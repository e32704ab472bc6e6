"""Training throughput with the Textual app running, against headless training, in one process.

For each torch thread count, alternates: a headless run (the engine with its run folder, as
`tui-trainer train` runs it) and a run started in the app (headless Textual, 120x40, the
app's 10 Hz drain and redraws live). During the app's run a key event is posted every 50 ms
and the time until the app handles it is recorded. Prints, per thread count, the median
samples/s ratio app/headless, key latency median and p95, and monitor redraws per second.

    python bench/tui.py                 # cnn-mnist1d, threads 1 and 2
    python bench/tui.py lstm-mnist1d --epochs 1 --threads 1
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from tui_trainer.config import replace  # noqa: E402
from tui_trainer.config.presets import load_preset  # noqa: E402
from tui_trainer.data import load_data  # noqa: E402
from tui_trainer.engine.trainer import Trainer  # noqa: E402
from tui_trainer.runs import RunFolder  # noqa: E402
from tui_trainer.tui import TrainerApp  # noqa: E402
from tui_trainer.tui.widgets.monitor import Monitor  # noqa: E402
from tui_trainer.tui.widgets.settings_panel import SettingsPanel  # noqa: E402

PROBE_KEY = "f12"


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


def headless(config, runs_dir: Path) -> float:
    return Trainer(config, run_folder=RunFolder.create(runs_dir, config.name)).run().summary["train_samples_per_second"]


async def in_app(preset: str, epochs: int, threads: int, runs_dir: Path) -> dict:
    app = ProbedApp(preset, runs_dir=runs_dir, threads=threads)
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.torch_info is None:
            await pilot.pause(0.05)
        app.query_one(SettingsPanel).set_value("train.epochs", epochs)
        await pilot.pause(0.1)
        monitor = app.query_one(Monitor)
        app.action_start()
        while monitor.steps_done == 0:
            await asyncio.sleep(0.05)
        redraws0, t0 = monitor.redraws, time.perf_counter()
        while app.training:
            app.key_seen.clear()
            sent = time.perf_counter()
            app.post_message(events.Key(PROBE_KEY, None))
            try:
                await asyncio.wait_for(app.key_seen.wait(), 5)
                latencies.append(app.handled[-1] - sent)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - t0
        redraws = monitor.redraws - redraws0
        while not app.session.finished.is_set():
            await asyncio.sleep(0.05)
        await pilot.pause(0.2)
        rate = app.session.summary["train_samples_per_second"]
    return {"rate": rate, "latencies": latencies, "redraws_per_second": redraws / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", default="cnn-mnist1d")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=str, default="1,2")
    args = parser.parse_args()
    base, _ = load_preset(args.preset, [("train.epochs", args.epochs, "--epochs")])
    load_data(base.data)  # generate the cache once, outside the timings
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads in [int(t) for t in args.threads.split(",")]:
            config = replace(base, {"train.threads": threads})
            headless(config, Path(tmp))  # warm-up
            ratios, latencies, redraws = [], [], []
            for rep in range(args.repeats):
                if rep % 2 == 0:
                    h = headless(config, Path(tmp))
                    a = asyncio.run(in_app(args.preset, args.epochs, threads, Path(tmp)))
                else:
                    a = asyncio.run(in_app(args.preset, args.epochs, threads, Path(tmp)))
                    h = headless(config, Path(tmp))
                ratios.append(a["rate"] / h)
                latencies.extend(a["latencies"])
                redraws.append(a["redraws_per_second"])
                print(f"threads {threads} pair {rep + 1}: headless {h:,.0f} samples/s, app {a['rate']:,.0f} samples/s, "
                      f"ratio {ratios[-1]:.3f}, {a['redraws_per_second']:.1f} redraws/s", flush=True)
            ms = sorted(x * 1000 for x in latencies)
            p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
            lines.append(
                f"{args.preset} threads {threads}: app/headless samples/s {statistics.median(ratios):.3f}, "
                f"key latency median {statistics.median(ms):.1f} ms p95 {p95:.1f} ms ({len(ms)} keys), "
                f"{statistics.median(redraws):.1f} redraws/s"
            )
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
