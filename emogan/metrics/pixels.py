"""The downsampled pixel space of the classifier-free metrics, and distances in it (chunked, on any device).

Faces are 2x2 average-pooled to 24x24 and scaled to [0, 1]; distances are RMS differences (L2 / sqrt(576)), so
0.05 means "on average 5% of the grey range apart". Pooling halves 48 exactly (no interpolation) and removes the
pixel-level noise that makes two renderings of the same face look different, while keeping eyes and mouth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported where it is used: the explorer imports the metric suite for its charts, and a page that
# only draws charts should not wait seconds for torch's import.

POOL = 2                      # 48 -> 24 px
DIM = (48 // POOL) ** 2       # 576
# Two faces are "near-identical" below this RMS difference. Measured on FER2013 (24x24, 1,000 validation faces):
# distinct faces are never this close (the 1-in-100,000 closest pair is 0.15 apart), while exact duplicates that the
# dataset itself holds sit at 0.00; 0.05 lies in that gap (about 13 grey levels) and leaves room for the small
# z-to-z wobble of a collapsed generator.
NEAR_IDENTICAL = 0.05
# Rows per block of a distance matrix: 1,000 x 4,096 floats is 16 MB, small enough for any CPU or GPU.
_BLOCK = 4096


def pixel_vectors(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, 48, 48) uint8 -> (N, 576) float32 in [0, 1] on `device`."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).to(device)
    x = x.float().div_(255.0).unsqueeze(1)
    return F.avg_pool2d(x, POOL).flatten(1)


def rms_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(len(a), len(b)) RMS differences; exact to float32 rounding (clamped at 0)."""
    d2 = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None] - 2.0 * (a @ b.T)
    return d2.clamp_min_(0).div_(a.shape[1]).sqrt_()


def nearest(a: torch.Tensor, b: torch.Tensor, k: int = 1, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `a`, the k closest rows of `b`: (indices (N, k), RMS distances (N, k)), closest first.

    b is walked in blocks, so 1,000 faces against the 28,709 training faces never hold the full matrix."""
    import torch

    k = min(k, len(b) - (1 if exclude_self else 0))
    a_sq = (a * a).sum(1, keepdim=True)
    best_d = torch.full((len(a), 0), float("inf"), device=a.device)
    best_i = torch.zeros((len(a), 0), dtype=torch.long, device=a.device)
    for start in range(0, len(b), _BLOCK):
        blk = b[start:start + _BLOCK]
        d2 = (a_sq + (blk * blk).sum(1)[None] - 2.0 * (a @ blk.T)).clamp_min_(0)
        if exclude_self:
            rows = torch.arange(len(a), device=a.device)
            cols = rows - start
            ok = (cols >= 0) & (cols < len(blk))
            d2[rows[ok], cols[ok]] = float("inf")
        idx = torch.arange(start, start + len(blk), device=a.device).expand(len(a), -1)
        d_all = torch.cat([best_d, d2], 1)
        i_all = torch.cat([best_i, idx], 1)
        best_d, pos = d_all.topk(min(k, d_all.shape[1]), dim=1, largest=False)
        best_i = i_all.gather(1, pos)
    dist = best_d.div(a.shape[1]).sqrt()
    return best_i.cpu().numpy(), dist.cpu().numpy()


def close_pairs(x: torch.Tensor, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j of rows of x closer than `threshold`: (pairs (P, 2), distances (P,)), closest first."""
    import torch

    pairs, dists = [], []
    for start in range(0, len(x), _BLOCK):
        d = rms_distances(x[start:start + _BLOCK], x)
        i, j = torch.nonzero(d < threshold, as_tuple=True)
        i = i + start
        keep = i < j
        pairs.append(torch.stack([i[keep], j[keep]], 1).cpu())
        dists.append(d[i[keep] - start, j[keep]].cpu())
    p = torch.cat(pairs).numpy() if pairs else np.zeros((0, 2), np.int64)
    dd = torch.cat(dists).numpy() if dists else np.zeros(0, np.float32)
    order = np.argsort(dd, kind="stable")
    return p[order], dd[order]


def closest_pairs(x: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k closest pairs i < j among the rows of x, whatever their distance: (pairs (k, 2), distances (k,))."""
    import torch

    n = len(x)
    d = rms_distances(x, x)
    iu = torch.triu_indices(n, n, 1, device=x.device)
    flat = d[iu[0], iu[1]]
    k = min(k, len(flat))
    vals, pos = flat.topk(k, largest=False)
    return torch.stack([iu[0][pos], iu[1][pos]], 1).cpu().numpy(), vals.cpu().numpy()
