"""The app in a process of its own, for the tests that kill it: it opens on cnn-mnist1d (headless,
as a Pilot drives it), starts a long run, prints one JSON line about itself once the run trains,
and then waits to be killed.

    python tests/app_alone.py RUNS_DIR
"""

import asyncio
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_pilot import make_app, settings_ready, start_training  # noqa: E402


async def main(runs_dir: Path) -> None:
    app = make_app(runs_dir.parent)
    app.runs_dir = runs_dir
    async with app.run_test(size=(100, 30)) as pilot:
        await settings_ready(pilot)
        await start_training(app, pilot, 500)
        facts = {"run_dir": app.session.run_dir, "worker_pid": app.worker.pid, "torch_imported": "torch" in sys.modules,
                 "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        print(json.dumps(facts), flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
