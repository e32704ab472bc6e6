"""The picture of the doctor in docs/doctor.md and the README: a real run of the corpus's
`overfit-small-data` case (the overfitting lab's unregularised CNN, seed 0), trained with
`tui-trainer train`, then shown by `tui-trainer watch` at its end, at 100×32: the curves, the
marker row with the doctor's `!` where over-fitting began, and the doctor's lines under it.

    python bench/doctor_picture.py        # writes docs/doctor-watch.svg
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_trainer.config.writer import toml_value  # noqa: E402
from tui_trainer.doctor.corpus import SICK  # noqa: E402
from tui_trainer.tui.watch import WatchApp  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
NAME = "doctor-watch.svg"


def main() -> None:
    case = next(c for c in SICK if c.name == "overfit-small-data")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the picture shows runs/<id>, as a user's folder would
        sets = [arg for key, value in case.settings.items() for arg in ("--set", f"{key}={toml_value(value)}")]
        subprocess.run([sys.executable, "-m", "tui_trainer", "train", case.preset, "--seed", "0", "--threads", "1",
                        "--json", *sets], check=True, capture_output=True)
        [run] = [p.relative_to(tmp) for p in (Path(tmp) / "runs").iterdir()]

        async def shoot() -> None:
            app = WatchApp(run)
            async with app.run_test(size=(100, 32)) as pilot:
                while not app.ended:
                    await pilot.pause(0.1)
                await pilot.pause(0.5)
                app.save_screenshot(filename=NAME, path=str(DOCS))

        asyncio.run(shoot())
    print(f"written: {DOCS / NAME}")


if __name__ == "__main__":
    main()
