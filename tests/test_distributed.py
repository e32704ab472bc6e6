"""One run over several processes (DDP with gloo on the CPU), through the real launcher:
`train --nproc 2` starts the processes as torchrun does.

Two processes are not bit-exact with one: the gradient of a global batch is the average of two
half-batch gradients, summed in another order than one process sums it, so results differ in
the last bits of float32 (the first steps' gradient norms agree to 1e-6). Adam at its peak LR
with clipping amplifies such differences over a few dozen steps, so the final metrics agree
within a tolerance (0.03 in loss and accuracy), while a bug in the sharding, the averaging or
SyncBatchNorm shows from the first step. A resume of the same two-process run is exact. The runs keep a
moving average of the weights (--ema), which every process computes from the same all-reduced weights.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = ["cnn-mnist1d", "--epochs", "4", "--no-dropout", "--ema", "--set", "train.batch_size=120", "--threads", "1",
        "--json"]


def cli(*args, timeout=240, **kwargs):
    return subprocess.run([sys.executable, "-m", "tui_trainer", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy(), **kwargs)


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def grad_norms(run: Path) -> list[float]:
    return [n for e in events(run) if e["event"] == "step_stats" for n in e["grad_norms"]]


def only_run(runs: Path) -> Path:
    found = [p for p in runs.iterdir() if p.is_dir()]
    assert len(found) == 1, found  # process 0 alone made a folder
    return found[0]


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, mnist1d):
    """The reference: cnn-mnist1d for 4 epochs on two processes (the MNIST-1D cache exists first)."""
    runs = tmp_path_factory.mktemp("ddp") / "runs"
    done = cli("train", *ARGS, "--nproc", "2", "--runs-dir", runs)
    assert done.returncode == 0, done.stderr
    return only_run(runs), done


def test_two_processes_train_as_one_process_does_on_the_same_global_batch(two_process_run, tmp_path):
    run, done = two_process_run
    started = next(e for e in events(run) if e["event"] == "run_started")
    assert started["processes"] == 2 and started["batch_size"] == 120
    assert any("global batch 120 = 2 × "
               "60" in n for n in started["notes"]) and "SyncBatchNorm" in " ".join(started["notes"])
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    single = cli("train", *ARGS, "--runs-dir", tmp_path / "runs")
    assert single.returncode == 0, single.stderr
    one = only_run(tmp_path / "runs")
    ddp_norms, one_norms = grad_norms(run), grad_norms(one)
    assert len(ddp_norms) == len(one_norms) == 4 * 30
    for step in range(10):  # the global gradient, step by step (the norm is of the all-reduced gradient)
        assert ddp_norms[step] == pytest.approx(one_norms[step], rel=1e-5), step
    a, b = (json.loads((r / "summary.json").read_text()) for r in (run, one))
    assert a["status"] == b["status"] == "completed" and a["processes"] == 2 and "processes" not in b
    assert a["best_val_loss"] == pytest.approx(b["best_val_loss"], abs=0.03)
    assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=0.03)
    assert a["steps"] == b["steps"] == 120


def test_a_checkpoint_of_two_processes_loads_into_a_single_model(two_process_run):
    import torch

    from tui_trainer.config import load_config
    from tui_trainer.data import dataset_spec
    from tui_trainer.engine.checkpoint import load_checkpoint
    from tui_trainer.models import build_model

    run, _ = two_process_run
    last = load_checkpoint(run / "last.pt")
    assert not any(k.startswith("module.") for k in last["model"])
    assert last["world_size"] == 2
    assert len(last["ranks"]) == 2
    config = load_config(run / "config.toml")
    model = build_model(dataset_spec(config.data), config)
    model.load_state_dict(load_checkpoint(run / "best.pt")["model"])  # strict: plain BatchNorm keys
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())
    from tui_trainer.runs.catalog import load_run, show_text

    assert "ddp     2 processes, global batch 120" in show_text(load_run(run))


def test_sigterm_to_the_launcher_stops_both_processes_at_one_step_and_resume_goes_on_exactly(two_process_run, tmp_path):
    reference, _ = two_process_run
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "tui_trainer", "train", *ARGS, "--nproc", "2", "--runs-dir", str(runs)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline, run = time.monotonic() + 120, None
    while time.monotonic() < deadline and run is None:  # an epoch is done: stop in the middle of the run
        found = list(runs.glob("*/metrics.jsonl"))
        if found and '"epoch_ended"' in found[0].read_text():
            run = found[0].parent
        time.sleep(0.02)
    assert run is not None, "the run never finished an epoch"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["reason"] == "interrupted by SIGTERM"
    assert summary["epochs_run"] < 4
    lasts = [e for e in events(run) if e["event"] == "checkpoint_saved" and e["kind"] == "last"]
    # at the start, after each epoch, and once for the stop (process 0 alone)
    assert len(lasts) == 1 + summary["epochs_run"] + 1

    wrong = cli("train", "--resume", run)  # one process cannot go on exactly
    assert wrong.returncode == 2 and "this run trained on 2 processes; resume it on as many (--nproc 2)" in wrong.stderr
    resumed = cli("train", "--resume", run, "--nproc", "2", "--json")
    assert resumed.returncode == 0, resumed.stderr
    a, b = (json.loads((r / "summary.json").read_text()) for r in (run, reference))
    for key in ("status", "epochs_run", "steps", "best_val_loss", "test_loss", "test_accuracy"):
        assert a[key] == b[key], key
    assert grad_norms(run) == grad_norms(reference)


def test_a_process_that_dies_ends_the_run_with_one_message_and_leaves_it_resumable(tmp_path, mnist1d):
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "tui_trainer", "train", ARGS[0], "--epochs", "30", *ARGS[3:], "--nproc", "2",
            "--runs-dir", str(runs)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline, run = time.monotonic() + 120, None
    while time.monotonic() < deadline and run is None:
        found = list(runs.glob("*/metrics.jsonl"))
        if found and '"epoch_ended"' in found[0].read_text():
            run = found[0].parent
        time.sleep(0.02)
    assert run is not None, "the run never finished an epoch"
    victim = next(int(p.name) for p in Path("/proc").iterdir()
                  if p.name.isdigit() and _is_rank_one_of(int(p.name), proc.pid))
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert f"process 1 (pid {victim}) was killed by SIGKILL" in err and f"train --resume {run} --nproc 2" in err
    assert "process 0: another process of this run stopped answering" in err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and (run / "last.pt").exists()


def _is_rank_one_of(pid: int, launcher: int) -> bool:
    """Whether ``pid`` is the launcher's worker with RANK=1."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return False
    return parent == launcher and b"RANK=1" in environ


def test_a_global_batch_that_does_not_split_evenly_is_refused_before_any_process_starts(tmp_path):
    bad = cli("train", "cnn-mnist1d", "--nproc", "3", "--runs-dir", tmp_path / "runs")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "train.batch_size: 128 cannot be split evenly over 3 processes; choose a multiple of 3" in bad.stderr
    assert not (tmp_path / "runs").exists()


def test_the_worker_command_line_repeats_train_without_nproc():
    from typer.main import get_command

    from tui_trainer.cli.app import app
    from tui_trainer.cli.launch import worker_args

    train = get_command(app).commands["train"]
    ctx = train.make_context("train",
                             ["cnn-mnist1d", "--nproc", "2", "--no-dropout", "-s", "train.lr=0.01", "--set",
                              "train.seed=3",
                                       "--epochs", "2", "--json"])
    assert worker_args(ctx) == ["cnn-mnist1d", "--set", "train.lr=0.01", "--set", "train.seed=3", "--no-dropout",
                                "--epochs", "2", "--json"]


def _sync_norm_worker(rank: int, port: int, x, out_dir: str) -> None:
    import torch
    import torch.distributed as dist

    from tui_trainer.engine.sync_batchnorm import convert_sync_batchnorm

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.manual_seed(0)
    norm = convert_sync_batchnorm(torch.nn.Sequential(torch.nn.BatchNorm1d(3)), torch.device("cpu"))
    with torch.no_grad():
        norm[0].weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        norm[0].bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    mine = x[rank * 4 : (rank + 1) * 4].clone().requires_grad_(True)
    y = norm(mine)
    # a loss that weighs each output differently
    (y * torch.arange(y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
    torch.save({"y": y.detach(), "grad": mine.grad, "mean": norm[0].running_mean, "var": norm[0].running_var},
               f"{out_dir}/{rank}.pt")
    dist.destroy_process_group()


def test_sync_batchnorm_on_the_cpu_normalises_and_differentiates_over_the_global_batch(tmp_path):
    """Two processes with four samples each give the outputs, input gradients and running
    statistics of BatchNorm on all eight (torch's SyncBatchNorm refuses the CPU)."""
    import socket

    import torch
    import torch.multiprocessing as mp

    torch.manual_seed(0)
    x = torch.randn(8, 3, 5) * torch.tensor([1.0, 10.0, 0.1]).view(1, 3, 1) + 4.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_sync_norm_worker, args=(port, x, str(tmp_path)), nprocs=2, join=True)
    parts = [torch.load(tmp_path / f"{r}.pt") for r in (0, 1)]
    norm = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        norm.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    whole = x.clone().requires_grad_(True)
    y = norm(whole)
    # each process weighs its own outputs 0..59
    weights = torch.cat([torch.arange(60, dtype=y.dtype).view(4, 3, 5)] * 2)
    (y * weights).sum().backward()
    torch.testing.assert_close(torch.cat([p["y"] for p in parts]), y.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat([p["grad"] for p in parts]), whole.grad, rtol=1e-4, atol=1e-4)
    for p in parts:
        torch.testing.assert_close(p["mean"], norm.running_mean)
        torch.testing.assert_close(p["var"], norm.running_var)


def test_a_divergence_seen_by_one_process_ends_the_run_on_every_process_at_once(tmp_path, mnist1d):
    done = cli("train", "cnn-mnist1d", "--epochs", "3", "--lr", "10", "--no-grad-clip", "--no-batchnorm", "--set",
               "train.optimizer=sgd", "--threads", "1", "--no-json", "--nproc", "2", "--runs-dir", tmp_path / "runs")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    summary = json.loads((only_run(tmp_path / "runs") / "summary.json").read_text())
    assert summary["status"] == "diverged" and "non-finite loss or gradient" in summary["reason"]
    assert "diverged: non-finite loss or gradient" in done.stdout
