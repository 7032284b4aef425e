"""Where a result came from: the commit and the device, as recorded in run configs, manifests and benchmarks."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def git_commit(repo: Path = REPO) -> str | None:
    """$EMOGAN_COMMIT where the tree travelled without .git (a GPU machine gets a copy of the files only), else
    `git rev-parse HEAD`; None when neither is known."""
    if os.environ.get("EMOGAN_COMMIT"):
        return os.environ["EMOGAN_COMMIT"]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model with its thread count (figures on a CPU depend on both)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    """The CPU's marketing name where Linux tells it, else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return f"{line.split(':', 1)[1].strip()}, {platform.machine()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()
