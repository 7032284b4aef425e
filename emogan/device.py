"""Choosing the torch device from the CLI's --device value."""

from __future__ import annotations

import torch

from emogan.errors import EmoganError

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
    """Whether bf16 autocast pays off on `device`: a CUDA GPU with native bf16 (Ampere or newer), or a CPU with
    native bf16 instructions (AVX512-BF16 or AMX), where oneDNN's bf16 convolutions beat fp32. Elsewhere bf16 is
    only emulated, slower than fp32, so training and inference stay in fp32 there."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def cpu_has_native_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def precision_name(device: torch.device) -> str:
    """What a run's config and progress line say about the arithmetic: "bf16-autocast" or "fp32"."""
    return "bf16-autocast" if fast_bf16(device) else "fp32"
