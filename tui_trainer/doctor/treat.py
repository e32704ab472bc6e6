"""The proof of a prescription: the run's own settings and the prescribed ones, trained side by
side on several seeds and judged by the labs' statistics. A treatment is a lab, written beside the
run as ``<run>/treat-<run id>-<finding>.toml``: the labs' runner trains it (at once on the cores,
or on Ray), the same command again resumes it, and ``lab show`` reads its result."""

from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from ..atomic import atomic_write_text
from ..errors import UserError
from ..experiments.labs.measure import METRICS
from ..experiments.labs.runner import LAB_JSON, lab_folders
from ..runs.catalog import RunInfo
from .findings import Diagnosis, Finding

ARMS = ("as run", "prescribed")
#: Seeds below this give no verdict, only a direction: a treatment needs its spread.
MIN_SEEDS = 2
#: Seeds of each side when none are asked for: the labs' usual three.
DEFAULT_SEEDS = 3


def choose(diagnosis: Diagnosis, name: str | None) -> Finding:
    """The finding to treat: ``name``, else the first with a prescription; one line when there is none."""
    treatable = [f for f in diagnosis.findings if f.prescription is not None]
    if name is None:
        if not treatable:
            raise UserError("nothing to treat: the doctor found nothing with a prescription in this run "
                            "(tui-trainer runs diagnose shows what it checked)")
        return treatable[0]
    for finding in treatable:
        if finding.name == name:
            return finding
    names = ", ".join(f.name for f in treatable) or "none"
    raise UserError(f"--finding {name}: not a finding of this run with a prescription (its findings: {names})")


def headline_metric(run: RunInfo) -> str:
    """The run's headline test metric, where the labs can measure it (else the test loss)."""
    metric = run.summary.get("headline") or "test_loss"
    return metric if metric in METRICS else "test_loss"


def treatment_file(run: RunInfo, finding: Finding, seeds: int) -> Path:
    """Write the treatment's lab file beside the run (the same file again: the same lab, resumed)."""
    if seeds < MIN_SEEDS:
        raise UserError(f"--seeds {seeds}: a treatment needs at least {MIN_SEEDS} seeds, so that its verdict "
                        "can weigh the difference against the spread between seeds")
    if finding.prescription is None:
        raise UserError(f"{finding.name}: no prescription to try")
    metric = headline_metric(run)
    columns = [m for m in ("best_val_loss", "epochs_run") if m != metric]
    lab = {
        "question": f"Does the doctor's prescription for {finding.title} help {run.id}?",
        "lesson": f"The doctor found {finding.title}: {finding.evidence}. It prescribed "
                  f"{finding.prescription.typed}, for {finding.prescription.moves}. Each seed trains the run's "
                  "own settings and the prescribed ones.",
        "base": str((run.path / "config.toml").resolve()),
        "seeds": seeds,
        "columns": columns,
        "arm": [{"name": ARMS[0], "set": {}}, {"name": ARMS[1], "set": dict(finding.prescription.overrides)}],
        "verdict": {"metric": metric, "reference": ARMS[0], "better": [ARMS[1]]},
    }
    path = run.path / f"treat-{run.id}-{finding.name}.toml"
    header = (f"# The doctor's treatment of {run.path}: {finding.title}.\n"
              "# Written by tui-trainer runs treat; run it again to resume it.\n")
    atomic_write_text(path, header + tomli_w.dumps(lab))
    return path


def prepare(run: RunInfo, runs_dir: Path | str, finding: str | None = None, seeds: int | None = None
            ) -> tuple[Path, Finding]:
    """Diagnose ``run``, choose the finding to treat (``finding``, else the first with a prescription)
    and write its treatment's lab file: what ``runs treat`` and the app's ``t`` start from."""
    from ..usercode.trust import require_all
    from .diagnose import diagnose_run

    if run.config is not None:
        require_all(run.config)  # the run's own code, if it has some: said yes to before its treatment trains it
    chosen = choose(diagnose_run(run.path, runs_dir), finding)
    return treatment_file(run, chosen, seeds or DEFAULT_SEEDS), chosen


def treated_run(lab_file: Path | str) -> Path | None:
    """The run folder a treatment's lab file was written beside; None for any other lab file."""
    path = Path(lab_file)
    return path.parent if path.name.startswith("treat-") and (path.parent / "config.toml").is_file() else None


def treatments(run_path: Path) -> list[Path]:
    """The treatment files written beside a run."""
    return sorted(run_path.glob("treat-*.toml"))


#: A treatment's verdict (the lab's outcome, the prescribed arm against the run's own settings) in words.
TREATED = {"holds": "helped", "contradicted": "did not help", "unclear": "no clear difference",
           "indicative": "one seed: a direction only", "failed": "every run failed", "mixed": "in part",
           "partial": "in part"}


def treatment_outcome(run_path: Path, runs_dir: Path | str) -> str | None:
    """What the latest treatment of the run found, in words (``helped``, ``did not help``, ``no clear
    difference``), or None for a run never treated (or whose treatment has not finished a seed)."""
    for lab_file in sorted(treatments(run_path), key=lambda p: p.stat().st_mtime, reverse=True):
        for folder in lab_folders(runs_dir, lab_file.stem):
            try:
                verdict = json.loads((folder / LAB_JSON).read_text(encoding="utf-8")).get("verdict") or {}
            except (OSError, ValueError):
                continue
            if verdict.get("outcome"):
                return TREATED.get(verdict["outcome"], verdict["outcome"])
    return None
