"""The machine a figure was measured on, in one line: the CPU's model, its cores, whether it has
native bf16 (AMX or AVX512-BF16), the GPU if torch sees one, and torch's version."""

from __future__ import annotations

import os
from pathlib import Path


def machine() -> str:
    import torch

    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    bf16 = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no native bf16"
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{model}, {cores} cores, {bf16}{gpu}, torch {torch.__version__}"


if __name__ == "__main__":
    print(machine())
