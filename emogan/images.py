"""Conversions between uint8 face arrays (N, 48, 48), model tensors in [-1, 1] and PIL grids."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

SIZE = 48  # FER2013 faces are 48x48 grayscale


def to_model_input(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, 48, 48) or (N, 1, 48, 48) -> float32 (N, 1, 48, 48) in [-1, 1] on `device`."""
    import torch
    t = torch.as_tensor(images, device=device)
    if t.dim() == 3:
        t = t.unsqueeze(1)
    return t.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 1, 48, 48) in [-1, 1] -> uint8 (N, 48, 48) numpy array."""
    import torch
    x = x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.reshape(x.shape[0], x.shape[-2], x.shape[-1]).cpu().numpy()


def grid_shape(n: int, ncols: int | None = None) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding n tiles."""
    cols = ncols or math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def make_grid(images: np.ndarray, ncols: int | None = None, pad: int = 0, fill: int = 255) -> Image.Image:
    """Tile (N, H, W) uint8 images row-major into one grayscale PIL image."""
    n, h, w = images.shape
    rows, cols = grid_shape(n, ncols)
    canvas = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad), fill, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    return Image.fromarray(canvas, mode="L")


def split_grid(grid: Image.Image | np.ndarray, n: int, tile: int = SIZE) -> np.ndarray:
    """Undo `make_grid(images, pad=0)` for its first n tiles: (n, tile, tile) uint8."""
    arr = np.asarray(grid.convert("L") if isinstance(grid, Image.Image) else grid)
    cols = arr.shape[1] // tile
    out = np.empty((n, tile, tile), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[i] = arr[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
    return out
