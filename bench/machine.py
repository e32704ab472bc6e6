"""The machine a figure was measured on, in one line: the CPU's model, its cores, whether it has
native bf16 (AMX or AVX512-BF16), the GPU if torch sees one, and torch's version."""

from __future__ import annotations

import os
import re
from pathlib import Path


def machine() -> str:
    import torch

    model, flags = cpu()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{model}, {cores} cores, {bf16_of(flags)}{gpu}, torch {torch.__version__}"


def short_machine() -> str:
    """In a few words, for a sentence: ``a 2-core Intel Xeon (AMX)``."""
    model, flags = cpu()
    name = re.sub(r"\((R|TM)\)|\bCPU\b.*|\bProcessor\b.*|\s\d+-Core.*", "", model).split("@")[0]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"a {cores}-core {' '.join(name.split())} ({bf16_of(flags)})"


def bf16_of(flags: set[str]) -> str:
    return "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no native bf16"


def cpu() -> tuple[str, set[str]]:
    """The CPU's model name and its flags, from /proc/cpuinfo."""
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
    return model, flags


if __name__ == "__main__":
    print(machine())
    print(short_machine())
