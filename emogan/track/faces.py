"""What a `sample` callable returned, checked and turned into uint8 faces (N, 48, 48): any framework's arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from emogan.errors import DataError

SIDE = 48
RANGE_SLACK = 1e-3      # float faces a hair outside [-1, 1] (a bf16 tanh) are clipped, not refused


def to_numpy(out: Any) -> np.ndarray:
    """A torch tensor (any device or dtype), a JAX or Keras array, or a numpy array, as numpy."""
    if hasattr(out, "detach") and hasattr(out, "cpu"):          # torch: no import needed to recognise it
        out = out.detach().cpu()
        if out.is_floating_point():
            out = out.float()                                      # bf16 has no numpy dtype
        return out.numpy()
    return np.asarray(out)


def to_faces(out: Any, n: int, where: str) -> np.ndarray:
    """uint8 (n, 48, 48) from faces shaped (n, 48, 48), (n, 1, 48, 48) or (n, 48, 48, 1), uint8 or floats in
    [-1, 1]; anything else is a DataError naming what came back and what was expected (`where`: which call)."""
    arr = to_numpy(out)
    shapes = {(n, SIDE, SIDE), (n, 1, SIDE, SIDE), (n, SIDE, SIDE, 1)}
    if tuple(arr.shape) not in shapes:
        raise DataError(f"{where}: sample returned faces of shape {tuple(arr.shape)} for {n} latents; expected "
                        f"({n}, 48, 48), ({n}, 1, 48, 48) or ({n}, 48, 48, 1)")
    arr = arr.reshape(n, SIDE, SIDE)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"{where}: sample returned faces of dtype {arr.dtype}; expected uint8 (0..255) or floats "
                        "in [-1, 1] (a tanh output)")
    x = arr.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{where}: sample returned NaN or infinite faces; expected floats in [-1, 1]")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1 - RANGE_SLACK or hi > 1 + RANGE_SLACK:
        hint = " (0..255 images: pass them as uint8)" if lo >= 0 and hi <= 255 else ""
        raise DataError(f"{where}: sample returned floats in [{lo:.3g}, {hi:.3g}]; expected [-1, 1]{hint}")
    # As emogan.images.to_uint8 does for our generators, in float32: the same faces from the same values.
    return np.round((np.clip(x, -1, 1) + np.float32(1)) * np.float32(127.5)).astype(np.uint8)


def sampler(G: Any, shape: tuple[int, ...] | None = None) -> Any:
    """A `sample` callable for an unconditional torch generator: numpy latents in, its output out, drawn in eval
    mode (BatchNorm's running statistics, no dropout) without gradients, on G's device; G's mode is restored after.
    shape: how G takes its latents, e.g. (-1, 100, 1, 1) for a DCGAN (default: (N, z_dim) as given)."""
    import torch

    def sample(z: np.ndarray) -> torch.Tensor:
        device = next((p.device for p in G.parameters()), torch.device("cpu"))
        x = torch.from_numpy(z).to(device)
        was_training = G.training
        G.eval()
        try:
            with torch.no_grad():
                return G(x.reshape(shape) if shape is not None else x)
        finally:
            G.train(was_training)

    return sample
