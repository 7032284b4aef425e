"""Drawing faces from a generator: latents in, uint8 (N, 48, 48) arrays out."""

from __future__ import annotations

import numpy as np
import torch

from .images import to_uint8


@torch.inference_mode()
def generate(G: torch.nn.Module, z: torch.Tensor, batch: int = 256) -> np.ndarray:
    """G's faces for latents z (N, z_dim), in eval mode (BatchNorm uses its running statistics)."""
    was_training = G.training
    G.eval()
    try:
        device = next(G.parameters()).device
        out = [to_uint8(G(z[i:i + batch].to(device=device, dtype=torch.float32))) for i in range(0, len(z), batch)]
    finally:
        G.train(was_training)
    return np.concatenate(out) if out else np.empty((0, 48, 48), np.uint8)


def random_latents(n: int, z_dim: int = 100, seed: int = 0) -> torch.Tensor:
    """Standard-normal latents from a CPU generator, so a seed gives the same z on every machine."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
