"""Choosing the torch device from the CLI's --device value."""

from __future__ import annotations

import torch

from .errors import EmoganError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when present, else the CPU; asking for CUDA without one is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EmoganError(f"--device {name}: no CUDA GPU is available on this machine (use --device cpu or auto)")
        return torch.device(name)
    raise EmoganError(f"unknown device {name!r}: expected one of {', '.join(DEVICE_CHOICES)}")


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast pays off on `device`: a CUDA GPU with native bf16 (Ampere or newer). Older GPUs
    only emulate it, slower than fp32, so training and inference stay in fp32 there."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False)
