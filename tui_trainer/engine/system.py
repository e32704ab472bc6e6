"""System load while a run trains: the process's CPU use and memory, and on CUDA the GPU's
utilisation and memory, sampled about once a second by a thread of its own.

The training thread only picks up the latest sample when it reports its step statistics (no
wait, no sync: a lock-free swap of one reference) and emits it as a ``system`` event, so every
sink sees events from one thread. Sources, in order of preference:

- CPU: the process's CPU time over the wall time since the last sample (100 % = one core
  busy), from ``os.times()``; memory: the resident set size from ``/proc/self/statm`` (Linux),
  else the peak from ``resource.getrusage``;
- GPU: NVML through ``nvidia-ml-py`` (``pynvml``) when installed: the device's utilisation and
  memory in use by every process; otherwise torch's own counters: the memory this process has
  allocated (no utilisation).

The peaks go in ``summary.json`` (``peak_memory``) and ``runs show``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import torch

from .events import SystemStats

INTERVAL = 1.0  # seconds between samples
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """This process's resident memory (its peak where /proc is missing), in MiB."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class SystemSampler:
    def __init__(self, device: torch.device, interval: float | None = None):
        self.device, self.interval = device, interval or INTERVAL
        self.latest: SystemStats | None = None
        self.peak_rss = 0.0
        self.peak_gpu = 0.0
        self._stop = threading.Event()
        self._nvml = self._open_nvml() if device.type == "cuda" else None
        self._started = time.perf_counter()
        self._thread: threading.Thread | None = None

    def _open_nvml(self) -> Any:
        try:
            import pynvml

            pynvml.nvmlInit()
            return pynvml.nvmlDeviceGetHandleByIndex(self.device.index or 0)
        except Exception:  # not installed, no driver: torch's counters instead
            return None

    def start(self) -> "SystemSampler":
        self._thread = threading.Thread(target=self._loop, name="system-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def take(self) -> SystemStats | None:
        """The sample taken since the last call, or None (called by the training thread)."""
        sample, self.latest = self.latest, None
        return sample

    def _loop(self) -> None:
        times, wall = os.times(), time.perf_counter()
        while not self._stop.wait(self.interval):
            now_times, now = os.times(), time.perf_counter()
            cpu = 100.0 * ((now_times.user - times.user) + (now_times.system - times.system)) / max(1e-9, now - wall)
            times, wall = now_times, now
            self.latest = self.sample(cpu, now - self._started)

    def sample(self, cpu_percent: float, seconds: float) -> SystemStats:
        rss = rss_mb()
        self.peak_rss = max(self.peak_rss, rss)
        gpu_percent = gpu_mb = None
        if self._nvml is not None:
            import pynvml

            try:
                gpu_percent = float(pynvml.nvmlDeviceGetUtilizationRates(self._nvml).gpu)
                gpu_mb = pynvml.nvmlDeviceGetMemoryInfo(self._nvml).used / 2**20
            except Exception:
                pass
        if gpu_mb is None and self.device.type == "cuda":
            gpu_mb = torch.cuda.memory_allocated(self.device) / 2**20
            self.peak_gpu = max(self.peak_gpu, torch.cuda.max_memory_allocated(self.device) / 2**20)
        if gpu_mb is not None:
            self.peak_gpu = max(self.peak_gpu, gpu_mb)
        return SystemStats(round(seconds, 1), round(cpu_percent, 1), round(rss, 1), gpu_percent,
                           None if gpu_mb is None else round(gpu_mb, 1))

    def peaks(self) -> dict[str, float]:
        """Peak memory for the summary, in MiB: this process's resident set, and the GPU's where there is one."""
        self.peak_rss = max(self.peak_rss, rss_mb())
        out = {"rss_mb": round(self.peak_rss, 1)}
        if self.device.type == "cuda":
            out["gpu_mb"] = round(max(self.peak_gpu, torch.cuda.max_memory_allocated(self.device) / 2**20), 1)
        return out
