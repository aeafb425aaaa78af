"""What a result record says about the software and hardware that produced it."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import torch

from disbench.checkout import code_commit

PACKAGES = ("disbench", "torch", "numpy", "scipy", "scikit-learn", "gymnasium")


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads)"


def device_kind(name: str) -> str:
    """``"CPU"`` for a record's device written by :func:`device_name` for a CPU, else the name (a GPU's)."""
    return "CPU" if name.endswith(" torch threads)") else name


def environment() -> dict[str, str | None]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {**versions, "python": platform.python_version(), "platform": platform.platform(), "cuda": torch.version.cuda, "git_commit": code_commit()}
